//! Property / fuzz tests of the dispatcher (issue 5): many thousands of random
//! `liveChat(command, arg)` calls — random JSON of random depth, wrong types, huge strings,
//! deep nesting, nulls, known command names with near-miss arguments — through
//! `command::parse` and, when it parses, `Widget::handle_command`, interleaved with network
//! faults (drops, server down, silent server, refused sends), timers, UI actions, another
//! tab's storage writes and reloads.
//!
//! Properties: nothing panics; every call is answered at most once, and exactly once —
//! synchronously for local commands, on the server's answer for send / contextual data /
//! auth / logout (checked once the network is healed); the widget's state stays valid (the
//! snapshot survives a JSON round trip unchanged, the stored entry is readable, ids are
//! unique, a ready widget is connected or has a reconnect planned); nothing in the outbox
//! is lost once the network is back.
//!
//! The rig below is the Harness of tests/common (same fake clock, `MemoryStore`,
//! `FakeServer`) with one difference: a `send` naming a thread the fake server does not know
//! is answered `unknown_thread` here, as the real server does, because `FakeServer` would
//! panic on it (it trusts its callers). Arguments go through `check_json_depth` first,
//! exactly as the browser bridge does before parsing.
//!
//! No extra dependencies: a seeded xorshift PRNG. `DISPATCHER_FUZZ_SEEDS` / `_STEPS` scale
//! it up; a failure names the seed and step to replay it.
#![cfg(not(target_arch = "wasm32"))]
mod common;

use std::collections::{BTreeMap, HashSet};

use common::{config, FakeServer, MemoryStore, T0, WIDGET};
use livechat_protocol::{error_code, ClientFrame, Json, ServerFrame};
use livechat_widget::core::command::{self, check_json_depth, Command, SendPayload, MAX_ARG_DEPTH};
use livechat_widget::core::{
    ApiError, CallId, Delivery, Effect, ErrorCode, Lifecycle, Reply, StoredState, UiAction, Widget,
};
use serde_json::{json, Map};

// ----- PRNG ------------------------------------------------------------------------------

/// xorshift64* — small, seeded, good enough to drive a fuzzer.
struct Prng(u64);

impl Prng {
    fn new(seed: u64) -> Self {
        Prng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

// ----- random inputs -----------------------------------------------------------------------

const NAMES: &[&str] = &[
    "init", "auth", "logout", "clear", "show", "hide", "show_launcher", "hide_launcher", "set_theme", "send",
    "send_contextual_data", "set_language",
];
const NEAR_NAMES: &[&str] = &[
    "", " ", "Init", "INIT", "init ", " send", "send\0", "sendd", "snd", "show-launcher", "showLauncher",
    "set_theme\n", "send_contextual", "setLanguage", "__proto__", "constructor", "toString", "hasOwnProperty",
    "ｓｅｎｄ", "send\u{200b}", "logout;", "clear()", "🙂", "init\u{0}extra",
];
const KEYS: &[&str] = &[
    "type", "message", "attachment", "fileName", "threadId", "customData", "agentMessage", "userMessage",
    "metadata", "multiThreadStrategy", "__proto__", "constructor", "prototype", "toString", "", " ", "type ",
    "Type", "MESSAGE", "a.b", "k\u{0}", "🙂", "valueOf",
];
const TYPES: &[&str] = &["BASIC", "DRAFT", "CUSTOM_DATA", "basic", "Basic", "", " BASIC", "BASIC ", "TEXT", "FILE"];
const STRATEGIES: &[&str] = &["ACTIVE", "ALL", "ALL_PLUS_NEW", "active", "", "NONE", "ALL-PLUS-NEW"];
const LANGS: &[&str] = &["it-IT", "en-US", "fr", "zh-Hant-TW", "xx-YY", "", "de_DE", "EN-us", "pt-br", "ar"];
const THEMES: &[&str] = &["dark", "default", "light", "DARK", " dark ", "", "neon"];

fn random_string(r: &mut Prng) -> String {
    match r.below(12) {
        0 => String::new(),
        1 => " \t\n ".into(),
        2 => "x".repeat(10_000),
        3 => "y".repeat(10_001),
        4 => "é".repeat(r.below(12_000) as usize),
        5 if r.chance(1) => "z".repeat(1 << 20), // a megabyte, rarely (debug builds are slow)
        6 => "\u{0}\u{1}\u{7f}\u{feff}\u{202e}<script>alert(1)</script>".into(),
        7 => r.pick(TYPES).to_string(),
        8 => format!("{}.{}.{}", "eyJhbGciOiJIUzI1NiJ9", "e30", "c2ln"),
        9 => r.pick(&["🙂🙃", "日本語", "\u{10ffff}", "a\u{301}", "\\\"'`"]).to_string(),
        _ => {
            let len = r.below(40) as usize;
            (0..len).map(|_| char::from_u32(r.below(0x3000) as u32).unwrap_or('?')).collect()
        }
    }
}

fn random_number(r: &mut Prng) -> Json {
    match r.below(8) {
        0 => json!(0),
        1 => json!(-1),
        2 => json!(u64::MAX),
        3 => json!(i64::MIN),
        4 => json!(1e308),
        5 => json!(5e-324),
        // Exactly representable fractions: serde_json's default float parser may be one ULP
        // off on arbitrary 17-digit inputs, which is not what this test is about.
        6 => json!((r.below(1 << 20) as f64) / 64.0),
        _ => json!(r.below(1000) as i64 - 500),
    }
}

/// Random JSON; `depth` bounds the nesting.
fn random_json(r: &mut Prng, depth: u32) -> Json {
    let leaf = depth == 0 || r.chance(35);
    if leaf {
        return match r.below(5) {
            0 => Json::Null,
            1 => Json::Bool(r.chance(50)),
            2 => random_number(r),
            _ => Json::String(random_string(r)),
        };
    }
    if r.chance(50) {
        let n = r.below(6) as usize;
        Json::Array((0..n).map(|_| random_json(r, depth - 1)).collect())
    } else {
        let n = r.below(6) as usize;
        let mut m = Map::new();
        for _ in 0..n {
            let k = if r.chance(60) { r.pick(KEYS).to_string() } else { random_string(r).chars().take(20).collect() };
            m.insert(k, random_json(r, depth - 1));
        }
        Json::Object(m)
    }
}

/// Nested arrays/objects exactly `depth` deep.
fn nested(r: &mut Prng, depth: u64) -> Json {
    let mut v = Json::String("bottom".into());
    for _ in 0..depth {
        v = if r.chance(50) { Json::Array(vec![v]) } else { json!({ "k": v }) };
    }
    v
}

/// Usually a plausible value for `key`, sometimes something of the wrong type.
fn field(r: &mut Prng, key: &str, threads: &[String]) -> Json {
    if r.chance(15) {
        return random_json(r, 3);
    }
    match key {
        "type" => {
            if r.chance(50) {
                json!("BASIC")
            } else {
                json!(r.pick(TYPES))
            }
        }
        "message" | "agentMessage" | "userMessage" | "fileName" => {
            if r.chance(70) {
                json!(format!("fuzz {}", r.below(1_000_000)))
            } else {
                json!(random_string(r))
            }
        }
        "attachment" => json!(r.pick(&[
            "data:image/png;base64,iVBORw0KGgo=",
            "aGVsbG8=",
            "https://example.com/a.pdf",
            "data:text/html;base64,PGI+",
            "data:,",
            "data:image/png;base64,"
        ])),
        "threadId" => {
            if !threads.is_empty() && r.chance(50) {
                json!(r.pick(threads))
            } else {
                json!(r.pick(&["", "thr-999", "../../etc", "t"]))
            }
        }
        "customData" => {
            if r.chance(20) {
                { let d = r.below(12); nested(r, d) }
            } else {
                random_json(r, 4)
            }
        }
        "metadata" => {
            if r.chance(20) {
                { let d = r.below(12); json!({ "deep": nested(r, d) }) }
            } else if r.chance(70) {
                let mut m = Map::new();
                for _ in 0..r.below(5) {
                    m.insert(r.pick(KEYS).to_string(), random_json(r, 2));
                }
                Json::Object(m)
            } else {
                random_json(r, 3)
            }
        }
        "multiThreadStrategy" => json!(r.pick(STRATEGIES)),
        _ => random_json(r, 2),
    }
}

/// A random `(command, arg)` pair: known names with near-miss args most of the time.
fn random_call(r: &mut Prng, threads: &[String]) -> (String, Option<Json>) {
    let name = match r.below(10) {
        0 => r.pick(NEAR_NAMES).to_string(),
        1 => random_string(r).chars().take(60).collect(),
        // Sends weigh more: they are where delivery can go wrong.
        2..=4 => "send".to_string(),
        5 if r.chance(50) => "send_contextual_data".to_string(),
        _ => r.pick(NAMES).to_string(),
    };
    if r.chance(12) {
        let arg = match r.below(4) {
            0 => None,
            1 => Some(Json::Null),
            2 => Some({ let d = r.below(48); nested(r, d) }),
            _ => Some(random_json(r, 5)),
        };
        return (name, arg);
    }
    let arg = match name.as_str() {
        "init" | "clear" => match r.below(6) {
            0 => None,
            1 => Some(json!(WIDGET)),
            2 => Some(json!("other-widget_2")),
            3 => Some(json!("x".repeat(65))),
            4 => Some(json!("bad id!")),
            _ => Some(random_json(r, 1)),
        },
        "auth" => Some(match r.below(5) {
            0 => json!("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJl"),
            1 => json!("bad.eyJzdWIiOiJhIn0.c2ln"),
            2 => json!("a.b"),
            3 => json!(format!("a.{}.c", "b".repeat(9000))),
            _ => random_json(r, 1),
        }),
        "set_theme" => Some(json!(r.pick(THEMES))),
        "set_language" => {
            if r.chance(20) {
                None
            } else {
                Some(json!(r.pick(LANGS)))
            }
        }
        "send" => {
            let mut m = Map::new();
            for key in ["type", "message", "attachment", "fileName", "threadId", "customData", "agentMessage", "userMessage"] {
                let want = match key {
                    "type" => 90,
                    "message" => 75,
                    _ => 20,
                };
                if r.chance(want) {
                    m.insert(key.to_string(), field(r, key, threads));
                }
            }
            if r.chance(10) {
                m.insert(r.pick(KEYS).to_string(), random_json(r, 2));
            }
            Some(Json::Object(m))
        }
        "send_contextual_data" => {
            let mut m = Map::new();
            if r.chance(90) {
                m.insert("metadata".into(), field(r, "metadata", threads));
            }
            if r.chance(40) {
                m.insert("multiThreadStrategy".into(), field(r, "multiThreadStrategy", threads));
            }
            Some(Json::Object(m))
        }
        // show, hide, logout…: mostly no argument, sometimes a stray one.
        _ => match r.below(4) {
            0 => Some(random_json(r, 1)),
            1 => Some(Json::Null),
            _ => None,
        },
    };
    (name, arg)
}

/// What the browser bridge does before `command::parse`: JSON text, depth check, parse.
fn bridge_parse(name: &str, arg: Option<Json>) -> Result<Command, ApiError> {
    if let Some(a) = &arg {
        let text = serde_json::to_string(a).expect("serializable");
        check_json_depth(&text, MAX_ARG_DEPTH)?;
    }
    command::parse(name, arg)
}

// ----- the rig -----------------------------------------------------------------------------

/// Which answer a call may still be waiting for.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    /// Must be answered before `handle_command` returns to the driver.
    Now,
    /// Answered when the server answers (or when a reset cancels it).
    Later,
}

struct Call {
    name: String,
    command: String,
    expect: Expect,
    answers: usize,
}

struct Rig {
    widget: Widget,
    now: u64,
    store: MemoryStore,
    server: FakeServer,
    socket_open: bool,
    calls: BTreeMap<CallId, Call>,
    next_call: CallId,
    /// Calls made before the last reload: the page that made them is gone.
    forgotten: HashSet<CallId>,
    answered_total: usize,
    /// Answers by outcome (`Sent`, `Ui`, `err:invalid_argument` …), to show the coverage.
    outcomes: BTreeMap<String, usize>,
}

impl Rig {
    fn new(seed: u64) -> Rig {
        Rig {
            widget: Widget::new(seed, vec!["en-US".into()]),
            now: T0,
            store: MemoryStore::default(),
            server: FakeServer::new(),
            socket_open: false,
            calls: BTreeMap::new(),
            next_call: 0,
            forgotten: HashSet::new(),
            answered_total: 0,
            outcomes: BTreeMap::new(),
        }
    }

    fn call(&mut self, name: &str, arg: Option<Json>) {
        self.next_call += 1;
        let id = self.next_call;
        let summary = format!("{name:?} {}", arg.as_ref().map_or("∅".into(), |a| truncated(&a.to_string(), 160)));
        match bridge_parse(name, arg) {
            Err(e) => {
                assert!(!e.message.is_empty(), "an error message for {summary}");
                assert!(
                    matches!(e.code, ErrorCode::UnknownCommand | ErrorCode::InvalidArgument),
                    "parse errors are unknown_command / invalid_argument: {e:?}"
                );
                self.calls.insert(id, Call { name: name.into(), command: summary, expect: Expect::Now, answers: 1 });
                self.answered_total += 1;
                *self.outcomes.entry(format!("parse:{}", e.code.as_str())).or_default() += 1;
            }
            Ok(cmd) => {
                let later = matches!(
                    cmd,
                    Command::Send(SendPayload::Basic { .. } | SendPayload::CustomData { .. })
                        | Command::SendContextualData { .. }
                        | Command::Auth { .. }
                        | Command::Logout
                        | Command::Init { .. }
                );
                let expect = if later { Expect::Later } else { Expect::Now };
                self.calls.insert(id, Call { name: name.into(), command: summary, expect, answers: 0 });
                self.widget.handle_command(id, cmd, self.now);
                self.settle();
                let c = &self.calls[&id];
                if c.expect == Expect::Now {
                    assert_eq!(c.answers, 1, "{} must be answered synchronously, exactly once", c.command);
                }
            }
        }
    }

    fn settle(&mut self) {
        for _ in 0..100_000 {
            if let Some(effect) = self.widget.poll_effect() {
                self.apply(effect);
                continue;
            }
            if self.socket_open {
                if let Some(frame) = self.server.outbound.pop_front() {
                    self.widget.handle_frame(frame, self.now);
                    continue;
                }
            }
            return;
        }
        panic!("effects never settled (an effect loop)");
    }

    fn apply(&mut self, effect: Effect) {
        match effect {
            Effect::Reply { call, result } => self.reply(call, result),
            Effect::LoadState { widget_id } => {
                let stored = self.store.load(&widget_id);
                self.widget.handle_stored_state(&widget_id, stored, self.now);
            }
            Effect::Persist(state) => self.store.save(&state),
            Effect::ClearStorage { widget_id } => self.store.remove(&widget_id),
            Effect::ClaimSocket { .. } => {}
            Effect::FetchConfig { widget_id, attempt } => {
                let mut c = config(&widget_id);
                c.id = widget_id.clone();
                self.widget.handle_config(&widget_id, attempt, Ok(c), self.now);
            }
            Effect::OpenSocket { .. } => {
                self.server.outbound.clear();
                if self.server.up {
                    self.socket_open = true;
                    self.widget.handle_socket_open(self.now);
                } else {
                    self.socket_open = false;
                    self.widget.handle_socket_closed(self.now);
                }
            }
            Effect::CloseSocket => {
                self.socket_open = false;
                self.server.outbound.clear();
            }
            Effect::SendFrame(frame) => {
                if !self.socket_open {
                    return;
                }
                // The real server answers a send to an unknown thread with `unknown_thread`;
                // FakeServer would panic on it, so answer it here.
                if let ClientFrame::Send { req, thread_id: Some(t), .. } = &frame {
                    let known = self.server.threads.iter().any(|th| &th.id == t);
                    let answered = self.server.answers.contains_key(req);
                    if !known && !answered {
                        self.server.received.push(frame.clone());
                        self.server.outbound.push_back(ServerFrame::Error {
                            req: Some(req.clone()),
                            code: error_code::UNKNOWN_THREAD.into(),
                            message: "no such thread".into(),
                            retry_after_ms: None,
                        });
                        return;
                    }
                }
                self.server.receive(frame, self.now);
            }
            Effect::LoadTexts { language } => self.widget.handle_language_ready(language, self.now),
            Effect::Render | Effect::Emit(_) => {}
        }
    }

    fn reply(&mut self, call: CallId, result: Result<Reply, ApiError>) {
        if self.forgotten.contains(&call) {
            panic!("call {call} from before the reload answered after it: {result:?}");
        }
        let Some(c) = self.calls.get_mut(&call) else {
            panic!("reply to a call that was never made: {call} {result:?}");
        };
        c.answers += 1;
        self.answered_total += 1;
        assert_eq!(c.answers, 1, "{} answered {} times; latest {result:?}", c.command, c.answers);
        let outcome = match &result {
            Ok(reply) => format!("{reply:?}").split(['(', ' ', '{']).next().unwrap_or("?").to_string(),
            Err(e) => format!("err:{}", e.code.as_str()),
        };
        *self.outcomes.entry(outcome).or_default() += 1;
        if let Err(e) = &result {
            assert!(!e.message.is_empty(), "error without a message for {}", c.command);
        }
        if let Ok(Reply::Sent(s)) = &result {
            assert!(c.name == "send", "a Sent reply for {}", c.command);
            assert!(!s.message_id.is_empty() && !s.client_id.is_empty());
        }
    }

    fn advance(&mut self, ms: u64) {
        let end = self.now + ms;
        let mut guard = 0;
        while let Some(deadline) = self.widget.poll_timeout() {
            if deadline.at > end {
                break;
            }
            guard += 1;
            assert!(guard < 10_000, "timers fire in a loop ({})", deadline.reason);
            self.now = self.now.max(deadline.at);
            self.widget.handle_timeout(self.now);
            self.settle();
        }
        self.now = end;
        self.settle();
    }

    fn drop_connection(&mut self) {
        if self.socket_open {
            self.socket_open = false;
            self.server.outbound.clear();
            self.widget.handle_socket_closed(self.now);
            self.settle();
        }
    }

    fn reload(&mut self, seed: u64) {
        self.socket_open = false;
        self.server.outbound.clear();
        self.forgotten.extend(self.calls.keys().copied());
        self.calls.clear();
        self.widget = Widget::new(seed, vec!["en-US".into()]);
        self.call("init", Some(json!(WIDGET)));
    }

    /// The invariants that hold after every input.
    fn check(&self, ctx: &str) {
        let snap = self.widget.snapshot();
        let text = serde_json::to_string(&snap).unwrap_or_else(|e| panic!("{ctx}: snapshot serializes: {e}"));
        let back: StoredState = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{ctx}: snapshot deserializes: {e}\n{}", truncated(&text, 400)));
        assert_eq!(back, snap, "{ctx}: snapshot round-trips unchanged");
        if let Some(id) = self.widget.widget_id() {
            if let Some(text) = self.store.entries.get(&livechat_widget::core::state::storage_key(id)) {
                let stored: StoredState = serde_json::from_str(text).unwrap_or_else(|e| panic!("{ctx}: stored entry readable: {e}"));
                assert!(stored.clone().validated(id).is_some(), "{ctx}: stored entry valid for {id}");
            }
        }
        let mut ids = HashSet::new();
        for item in self.widget.outbox() {
            assert!(ids.insert(item.id.clone()), "{ctx}: outbox id {} twice", item.id);
        }
        for t in self.widget.conversations().threads() {
            let mut seen = HashSet::new();
            for m in &t.messages {
                assert!(seen.insert(m.id.clone()), "{ctx}: message {} twice in thread {}", m.id, t.id);
            }
        }
        if self.widget.lifecycle() == Lifecycle::Ready {
            assert!(
                self.widget.connected() || self.widget.poll_timeout().is_some(),
                "{ctx}: a ready widget is connected or has a reconnect planned"
            );
        }
    }
}

fn truncated(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n).collect::<String>())
    }
}

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

// ----- tests -------------------------------------------------------------------------------

/// Parser only: every pair parses or fails cleanly, and what parses obeys the rules.
#[test]
fn parser_accepts_only_valid_arguments_and_never_panics() {
    let n = env_num("DISPATCHER_FUZZ_PARSES", 25_000);
    let mut r = Prng::new(0xC0FFEE);
    let (mut ok, mut err) = (0u64, 0u64);
    for i in 0..n {
        let (name, arg) = random_call(&mut r, &["thr-1".to_string()]);
        let ctx = format!("parse #{i}: {name:?} {}", arg.as_ref().map_or("∅".into(), |a| truncated(&a.to_string(), 200)));
        match bridge_parse(&name, arg.clone()) {
            Err(e) => {
                err += 1;
                assert!(!e.message.is_empty(), "{ctx}");
                assert!(matches!(e.code, ErrorCode::UnknownCommand | ErrorCode::InvalidArgument), "{ctx}: {e:?}");
                // The bridge checks the argument's depth before the name (as in the browser).
                let shallow = arg.as_ref().map_or(true, |a| depth(a) <= MAX_ARG_DEPTH);
                if !NAMES.contains(&name.as_str()) && shallow {
                    assert_eq!(e.code, ErrorCode::UnknownCommand, "{ctx}");
                }
            }
            Ok(cmd) => {
                ok += 1;
                assert!(NAMES.contains(&name.as_str()), "{ctx}: parsed an unknown name");
                check_parsed(&cmd, &ctx);
            }
        }
    }
    eprintln!("dispatcher_fuzz: {n} parses, {ok} accepted, {err} refused");
    assert!(ok > n / 20 && err > n / 20, "the generator reaches both outcomes ({ok} ok / {err} err)");
}

fn depth(v: &Json) -> usize {
    match v {
        Json::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
        Json::Object(m) => 1 + m.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// The documented argument rules, re-checked on what the parser accepted.
fn check_parsed(cmd: &Command, ctx: &str) {
    let id_ok = |id: &str| {
        !id.is_empty() && id.len() <= command::MAX_WIDGET_ID_LEN && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    match cmd {
        Command::Init { widget_id: Some(id) } | Command::Clear { widget_id: Some(id) } => assert!(id_ok(id), "{ctx}"),
        Command::Auth { jwt } => {
            assert_eq!(jwt.split('.').count(), 3, "{ctx}");
            assert!(jwt.len() <= command::MAX_JWT_LEN, "{ctx}");
        }
        Command::SetTheme { name } => assert!(!name.trim().is_empty() && name.len() <= 64, "{ctx}"),
        Command::Send(SendPayload::Basic { text, attachment, thread_id }) => {
            assert!(text.is_some() || attachment.is_some(), "{ctx}");
            if let Some(t) = text {
                assert!(!t.trim().is_empty() && t.chars().count() <= command::MAX_TEXT_CHARS, "{ctx}");
            }
            if let Some(a) = attachment {
                assert!(!a.file_name.trim().is_empty() && !a.content.is_empty(), "{ctx}");
            }
            assert_ne!(thread_id.as_deref(), Some(""), "{ctx}");
        }
        Command::Send(SendPayload::Draft { text, .. }) => assert!(text.chars().count() <= command::MAX_TEXT_CHARS, "{ctx}"),
        Command::Send(SendPayload::CustomData { custom_data, agent_message, user_message, .. }) => {
            assert!(!custom_data.is_null(), "{ctx}");
            assert!(depth(custom_data) <= command::MAX_DATA_DEPTH, "{ctx}");
            for t in [agent_message, user_message].into_iter().flatten() {
                assert!(t.chars().count() <= command::MAX_TEXT_CHARS, "{ctx}");
            }
        }
        Command::SendContextualData { metadata, .. } => {
            assert!(!metadata.is_empty(), "{ctx}");
            assert!(depth(&Json::Object(metadata.clone())) <= command::MAX_DATA_DEPTH, "{ctx}");
            assert!(serde_json::to_string(metadata).unwrap().len() <= command::MAX_DATA_BYTES * 2, "{ctx}");
        }
        _ => {}
    }
}

/// The whole dispatcher on the fake clock and server, with faults.
#[test]
fn random_calls_with_faults_are_answered_exactly_once_and_leave_a_valid_widget() {
    let seeds = env_num("DISPATCHER_FUZZ_SEEDS", 8);
    let steps = env_num("DISPATCHER_FUZZ_STEPS", 1_500);
    let mut total_calls = 0usize;
    let mut total_answers = 0usize;
    let mut outcomes: BTreeMap<String, usize> = BTreeMap::new();
    for seed in 1..=seeds {
        let (calls, answers, o) = run_seed(seed, steps);
        total_calls += calls;
        total_answers += answers;
        for (k, v) in o {
            *outcomes.entry(k).or_default() += v;
        }
    }
    eprintln!("dispatcher_fuzz: {seeds} seeds × {steps} steps: {total_calls} calls, {total_answers} answers: {outcomes:?}");
    assert!(total_calls as u64 >= seeds * steps / 2, "mostly calls");
    // The generator reaches the interesting paths, not only argument errors.
    for must in ["Sent", "Contextual", "Ui", "Language", "Theme", "Draft", "Reset", "Auth", "parse:invalid_argument", "parse:unknown_command", "err:rejected", "err:cancelled"] {
        assert!(outcomes.get(must).copied().unwrap_or(0) > 0, "no {must} answer in the whole run: {outcomes:?}");
    }
}

fn run_seed(seed: u64, steps: u64) -> (usize, usize, BTreeMap<String, usize>) {
    let mut r = Prng::new(seed);
    let mut rig = Rig::new(seed);
    let mut made = 0usize;
    rig.call("init", Some(json!(WIDGET)));
    made += 1;
    for step in 0..steps {
        let ctx = format!("seed {seed} step {step}");
        let threads: Vec<String> = rig.server.threads.iter().map(|t| t.id.clone()).collect();
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            match r.below(100) {
                0..=69 => {
                    let (name, arg) = random_call(&mut r, &threads);
                    rig.call(&name, arg);
                    return true;
                }
                70..=74 => rig.drop_connection(),
                75..=77 => {
                    rig.server.up = !rig.server.up;
                    if !rig.server.up {
                        rig.drop_connection();
                    }
                }
                78..=79 => rig.server.silent = !rig.server.silent,
                80 => {
                    rig.server.refuse_sends =
                        if rig.server.refuse_sends.is_some() { None } else { Some(error_code::INVALID_MESSAGE) }
                }
                81..=88 => {
                    let ms = *r.pick(&[0, 10, 300, 1_000, 5_000, 26_000, 36_000, 120_000]);
                    rig.advance(ms);
                }
                89 => {
                    rig.widget.handle_wake(rig.now);
                    rig.settle();
                }
                90..=95 => {
                    let outbox: Vec<String> = rig.widget.outbox().iter().map(|o| o.id.clone()).collect();
                    let action = match r.below(6) {
                        0 => UiAction::Toggle,
                        1 => UiAction::Close,
                        2 => UiAction::Draft(random_string(&mut r).chars().take(50).collect()),
                        3 => UiAction::Submit,
                        4 => UiAction::Retry(if outbox.is_empty() || r.chance(30) { "nope".into() } else { r.pick(&outbox).clone() }),
                        _ => UiAction::SelectThread(if threads.is_empty() || r.chance(30) { None } else { Some(r.pick(&threads).clone()) }),
                    };
                    if matches!(action, UiAction::Draft(_)) && r.chance(50) {
                        // Draft then submit, like typing and pressing Enter.
                        rig.widget.handle_ui(action, rig.now);
                        rig.settle();
                        rig.widget.handle_ui(UiAction::Submit, rig.now);
                    } else {
                        rig.widget.handle_ui(action, rig.now);
                    }
                    rig.settle();
                }
                96..=97 => {
                    // Another tab wrote (or removed) the entry.
                    let stored = if r.chance(80) { rig.store.load(WIDGET) } else { None };
                    rig.widget.handle_storage_changed(stored, rig.now);
                    rig.settle();
                }
                _ => {
                    rig.reload(seed * 1_000 + step);
                    return true;
                }
            }
            false
        }));
        match outcome {
            Ok(was_call) => made += usize::from(was_call),
            Err(e) => {
                let msg = e
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                panic!("{ctx}: {msg}");
            }
        }
        rig.check(&ctx);
    }

    // Heal the network; every call still waiting must get its one answer, and nothing the
    // visitor sent may be stuck in the outbox.
    let ctx = format!("seed {seed} after healing");
    rig.server.up = true;
    rig.server.silent = false;
    rig.server.refuse_sends = None;
    if rig.widget.lifecycle() == Lifecycle::Ready {
        rig.widget.handle_wake(rig.now);
        rig.settle();
        rig.advance(120_000);
        assert!(rig.widget.connected(), "{ctx}: reconnected");
        let stuck: Vec<_> = rig.widget.outbox().iter().filter(|o| o.status == Delivery::Sending).collect();
        assert!(stuck.is_empty(), "{ctx}: outbox items still sending after healing: {stuck:?}");
    } else {
        rig.advance(120_000);
    }
    let unanswered: Vec<&str> = rig.calls.values().filter(|c| c.answers == 0).map(|c| c.command.as_str()).collect();
    if rig.widget.lifecycle() == Lifecycle::Ready {
        assert!(unanswered.is_empty(), "{ctx}: calls never answered: {unanswered:?}");
    }
    assert!(rig.calls.values().all(|c| c.answers <= 1), "{ctx}");
    rig.check(&ctx);
    // Still works: a fresh message is acked.
    if rig.widget.lifecycle() != Lifecycle::Ready {
        rig.call("init", Some(json!(WIDGET)));
    }
    if rig.widget.widget_id() != Some(WIDGET) {
        rig.call("clear", None);
        rig.call("init", Some(json!(WIDGET)));
    }
    let before = rig.next_call + 1;
    rig.call("send", Some(json!({"type": "BASIC", "message": "still alive"})));
    rig.advance(1_000);
    let c = &rig.calls[&before];
    assert_eq!(c.answers, 1, "{ctx}: a message after the fuzzing is answered");
    assert!(rig.server.stored_messages() > 0 || rig.widget.conversations().threads().iter().any(|t| !t.messages.is_empty()), "{ctx}: stored");
    (made, rig.answered_total, rig.outcomes)
}
