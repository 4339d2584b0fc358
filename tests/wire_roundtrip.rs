//! Property test of the widget's JSON layer (`wire`) on random documents, seeded so a
//! failure reproduces: for random values of every type the widget reads or writes, and for
//! random damage done to their JSON,
//!
//! - `wire::read` accepts exactly what the serde derive accepts, with the same result;
//! - read → write → read gives the same value back, and what `wire::write` writes is the
//!   document serde writes for it.
//!
//! Bounded to about a second in a debug build (`ROUNDS`); `WIRE_SEED=<n>` replays one seed.
#![cfg(not(target_arch = "wasm32"))]

use std::collections::BTreeMap;
use std::fmt::Debug;

use livechat_protocol::{
    Attachment, AttachmentPolicy, Author, ClientFrame, Customer, Event, Json, Message, MultiThreadStrategy,
    OutgoingAttachment, OutgoingBody, ServerFrame, Theme, Thread, ThreadStatus, WidgetConfig,
};
use livechat_widget::core::{Delivery, OutboxItem, OutboxRequest, StoredState, UiState};
use livechat_widget::wire::{self, Auto, Codec};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::json;

const ROUNDS: u64 = 150;

/// xorshift64*: small, seeded, good enough to pick shapes.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize].clone()
    }
    fn opt<T>(&mut self, f: impl FnOnce(&mut Self) -> T) -> Option<T> {
        self.chance(50).then(|| f(self))
    }
    fn list<T>(&mut self, max: u64, mut f: impl FnMut(&mut Self) -> T) -> Vec<T> {
        (0..self.below(max + 1)).map(|_| f(self)).collect()
    }
}

const PIECES: &[&str] = &[
    "a", "Hi", " ", "\"", "\\", "/", "\n", "\r", "\t", "\u{8}", "\u{c}", "\u{0}", "\u{1f}", "\u{7f}", "\u{2028}",
    "é", "漢", "😀", "</script>", "OPEN", "sending", "0", "17", "-1", "01",
];

fn string(r: &mut Rng) -> String {
    (0..r.below(6)).map(|_| r.pick(PIECES)).collect()
}

fn key(r: &mut Rng) -> String {
    // Index-like keys come first in JavaScript's order; the writer must keep that order.
    if r.chance(30) {
        r.pick(&["0", "9", "10", "4294967294", "4294967295", "01", "-1"]).to_string()
    } else {
        string(r)
    }
}

fn uint(r: &mut Rng) -> u64 {
    match r.below(4) {
        0 => 0,
        1 => r.below(1000),
        2 => 9_007_199_254_740_991,
        _ => r.next() >> r.below(64),
    }
}

fn json(r: &mut Rng, depth: u32) -> Json {
    let leaf = depth == 0 || r.chance(50);
    match r.below(if leaf { 6 } else { 8 }) {
        0 => Json::Null,
        1 => json!(r.chance(50)),
        2 => json!(uint(r)),
        3 => json!(-(r.below(1 << 40) as i64) - 1),
        4 => json!(r.pick(&[0.5, -1.25, 1e-7, 3.141_592_653_589_793, 1e300, -2.5e-300])),
        5 => json!(string(r)),
        6 => Json::Array(r.list(3, |r| json(r, depth - 1))),
        _ => Json::Object(r.list(3, |r| (key(r), json(r, depth - 1))).into_iter().collect()),
    }
}

fn metadata(r: &mut Rng) -> BTreeMap<String, Json> {
    r.list(4, |r| (key(r), json(r, 2))).into_iter().collect()
}

fn customer(r: &mut Rng) -> Customer {
    Customer { subject: string(r), subject_type: r.pick(&["email", "msisdn", "externalPersonId"]).into() }
}

fn message(r: &mut Rng) -> Message {
    Message {
        id: string(r),
        thread_id: string(r),
        client_id: r.opt(string),
        author: r.pick(Author::VARIANTS),
        agent_name: r.opt(string),
        text: r.opt(string),
        attachment: r.opt(|r| Attachment {
            id: string(r),
            file_name: string(r),
            content_type: string(r),
            size: uint(r),
            url: string(r),
        }),
        custom: r.chance(30),
        created_at: uint(r),
    }
}

fn thread(r: &mut Rng) -> Thread {
    Thread { id: string(r), status: r.pick(ThreadStatus::VARIANTS), created_at: uint(r), messages: r.list(3, message) }
}

fn config(r: &mut Rng) -> WidgetConfig {
    let theme = |r: &mut Rng| Theme {
        primary: r.opt(string),
        on_primary: r.opt(string),
        background: r.opt(string),
        text: r.opt(string),
        font: r.opt(string),
        launcher_position: r.opt(string),
    };
    WidgetConfig {
        id: string(r),
        title: string(r),
        color: string(r),
        themes: r.list(2, |r| (key(r), theme(r))).into_iter().collect(),
        languages: r.list(3, string),
        default_language: string(r),
        multi_thread: r.chance(50),
        attachments: AttachmentPolicy { max_bytes: uint(r), allowed_types: r.list(3, string) },
        offline_message: string(r),
        online: r.chance(50),
        ws_path: string(r),
    }
}

fn body(r: &mut Rng) -> OutgoingBody {
    if r.chance(60) {
        OutgoingBody::Basic {
            text: r.opt(string),
            attachment: r.opt(|r| OutgoingAttachment { file_name: string(r), content: string(r) }),
        }
    } else {
        OutgoingBody::CustomData { custom_data: json(r, 3), agent_message: r.opt(string), user_message: r.opt(string) }
    }
}

fn state(r: &mut Rng) -> StoredState {
    let item = |r: &mut Rng| OutboxItem {
        id: string(r),
        request: if r.chance(70) {
            OutboxRequest::Message { thread_id: r.opt(string), new_thread: r.chance(50), body: body(r) }
        } else {
            OutboxRequest::ContextualData { metadata: metadata(r), strategy: r.pick(MultiThreadStrategy::VARIANTS) }
        },
        status: if r.chance(50) { Delivery::Sending } else { Delivery::Failed { code: string(r), message: string(r) } },
        created_at: uint(r),
    };
    StoredState {
        version: r.below(3) as u32,
        widget_id: string(r),
        session: r.opt(string),
        customer: r.opt(customer),
        last_seq: uint(r),
        ui: UiState {
            open: r.chance(50),
            launcher: r.chance(50),
            draft: string(r),
            unread: r.next() as u32,
            thread_list: r.chance(50),
            new_thread: r.chance(50),
        },
        language: r.opt(string),
        theme: r.opt(string),
        threads: r.list(3, thread),
        active_thread: r.opt(string),
        outbox: r.list(3, item),
        config: r.opt(config),
        ended_sessions: r.list(3, string),
        complete_threads: r.list(3, string),
    }
}

fn client_frame(r: &mut Rng) -> ClientFrame {
    match r.below(7) {
        0 => ClientFrame::Hello { protocol: r.below(3) as u32, widget_id: string(r), session: r.opt(string), last_seq: uint(r), end_sessions: r.list(3, string) },
        1 => ClientFrame::Auth { req: string(r), jwt: string(r) },
        2 => ClientFrame::Logout { req: string(r) },
        3 => ClientFrame::Send { req: string(r), thread_id: r.opt(string), new_thread: r.chance(50), body: body(r) },
        4 => ClientFrame::ContextualData {
            req: string(r),
            metadata: metadata(r),
            strategy: r.pick(MultiThreadStrategy::VARIANTS),
        },
        5 => ClientFrame::History { req: string(r), thread_id: string(r), before: r.opt(string), limit: r.below(100) as u32 },
        _ => ClientFrame::Ping { nonce: uint(r) },
    }
}

fn server_frame(r: &mut Rng) -> ServerFrame {
    match r.below(10) {
        0 => ServerFrame::Welcome {
            protocol: r.below(3) as u32,
            session: string(r),
            customer: r.opt(customer),
            resumed: r.chance(50),
            online: r.chance(50),
        },
        1 => ServerFrame::Sync { last_seq: uint(r), threads: r.list(3, thread), pending_metadata: r.opt(metadata) },
        2 => ServerFrame::Event {
            seq: uint(r),
            event: match r.below(4) {
                0 => Event::Message { message: message(r) },
                1 => Event::ThreadOpened { thread: thread(r) },
                2 => Event::ThreadStatus { thread_id: string(r), status: r.pick(ThreadStatus::VARIANTS) },
                _ => Event::Availability { online: r.chance(50) },
            },
        },
        3 => ServerFrame::Ack { req: string(r), message: message(r) },
        4 => ServerFrame::ContextAck { req: string(r), thread_ids: r.list(3, string), queued: r.chance(50) },
        5 => ServerFrame::AuthOk { req: string(r), customer: customer(r), session: string(r) },
        6 => ServerFrame::LoggedOut { req: string(r) },
        7 => ServerFrame::Error {
            req: r.opt(string),
            code: string(r),
            message: string(r),
            retry_after_ms: r.opt(uint),
        },
        8 => ServerFrame::HistoryPage { req: string(r), thread_id: string(r), messages: r.list(3, message), more: r.chance(50) },
        _ => ServerFrame::Pong { nonce: uint(r) },
    }
}

/// Damage done to a document: one value somewhere replaced by a random scalar or a wrong
/// shape, or one object field removed. (Not by `[]`: serde_json reads structs from arrays
/// by position, so an all-optional struct would take it; the widget never did.)
fn damage(r: &mut Rng, doc: &mut Json) {
    let mut node = doc;
    loop {
        let children = match node {
            Json::Object(m) => m.len(),
            Json::Array(a) => a.len(),
            _ => 0,
        };
        if children == 0 || r.chance(25) {
            break;
        }
        let i = r.below(children as u64) as usize;
        if let Json::Object(m) = node {
            if r.chance(15) {
                let k = m.keys().nth(i).cloned().unwrap();
                m.remove(&k);
                return;
            }
        }
        node = match node {
            Json::Object(m) => m.values_mut().nth(i).unwrap(),
            Json::Array(a) => &mut a[i],
            _ => unreachable!(),
        };
    }
    *node = match r.below(4) {
        0 => json(r, 0),
        1 => json!({}),
        2 => json!([1]),
        _ => json!(r.pick(&["OPEN", "visitor", "BASIC", "welcome", "ALL", "sending", ""])),
    };
}

/// Whether serde may take this document through a path the widget does not have: an
/// internally tagged enum's tag given as a variant index.
fn serde_only(doc: &Json) -> bool {
    let tag_not_string = |tag: &str| doc.get(tag).is_some_and(|t| !t.is_string());
    match doc {
        Json::Object(m) => tag_not_string("type") || tag_not_string("kind") || m.values().any(serde_only),
        Json::Array(a) => a.iter().any(serde_only),
        _ => false,
    }
}

/// Checks one random document; returns whether the widget accepted it.
fn check<T>(seed: u64, what: &str, generate: fn(&mut Rng) -> T) -> bool
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
    Auto: Codec<T>,
{
    let mut r = Rng::new(seed);
    let value = generate(&mut r);
    let mut doc = serde_json::to_value(&value).unwrap();
    if r.chance(70) {
        for _ in 0..=r.below(2) {
            damage(&mut r, &mut doc);
        }
    }
    let ctx = || format!("{what}, WIRE_SEED={seed}: {doc}");
    let read: Option<T> = wire::read(&doc);
    let derive = serde_json::from_value::<T>(doc.clone()).ok();
    if read.is_some() || !serde_only(&doc) {
        assert_eq!(read, derive, "reader and derive disagree on {}", ctx());
    }
    let Some(value) = read else { return false };
    let text = wire::write(&value);
    let written: Json = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e} in {text} ({})", ctx()));
    assert_eq!(written, serde_json::to_value(&value).unwrap(), "not serde's document: {text} ({})", ctx());
    if !has_index_key(&written) {
        // Then JavaScript's key order is serde's (sorted), and the text is the same too.
        assert_eq!(text, serde_json::to_string(&value).unwrap(), "not serde's text ({})", ctx());
    }
    assert_eq!(wire::read::<T>(&written).as_ref(), Some(&value), "read → write → read changed it ({})", ctx());
    true
}

/// Whether an object key somewhere is one JavaScript orders first (an array index).
fn has_index_key(v: &Json) -> bool {
    let index = |k: &str| k == "0" || (!k.starts_with('0') && k.parse::<u32>().is_ok_and(|n| n < u32::MAX));
    match v {
        Json::Object(m) => m.iter().any(|(k, v)| index(k) || has_index_key(v)),
        Json::Array(a) => a.iter().any(has_index_key),
        _ => false,
    }
}

fn seeds() -> Vec<u64> {
    match std::env::var("WIRE_SEED") {
        Ok(s) => vec![s.parse().expect("WIRE_SEED is a number")],
        Err(_) => (1..=ROUNDS).collect(),
    }
}

/// Runs `check` on `per_seed` documents per seed; both verdicts must occur often enough
/// for the run to mean something.
fn run<T>(what: &str, per_seed: u64, generate: fn(&mut Rng) -> T)
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
    Auto: Codec<T>,
{
    let seeds = seeds();
    let (mut accepted, mut total) = (0, 0);
    for seed in &seeds {
        for n in 0..per_seed {
            accepted += u64::from(check(seed * per_seed + n, what, generate));
            total += 1;
        }
    }
    if seeds.len() > 1 {
        assert!(accepted * 5 > total && (total - accepted) * 5 > total, "{what}: {accepted} of {total} accepted");
    }
}

#[test]
fn stored_state_round_trips_and_agrees_with_the_derive() {
    run("StoredState", 1, state);
}

#[test]
fn server_frames_round_trip_and_agree_with_the_derive() {
    run("ServerFrame", 8, server_frame);
}

#[test]
fn client_frames_round_trip_and_agree_with_the_derive() {
    run("ClientFrame", 8, client_frame);
}

#[test]
fn configs_round_trip_and_agree_with_the_derive() {
    run("WidgetConfig", 1, config);
}
