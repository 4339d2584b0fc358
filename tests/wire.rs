//! The JSON readers and writers of `wire` (used by the wasm driver instead of serde) against
//! serde_json and the serde derives, which define the formats, on fixed documents and every
//! one-step damage of them. `wire_roundtrip.rs` does the same on random documents.
#![cfg(not(target_arch = "wasm32"))]
mod common;

use livechat_protocol::{
    Attachment, Author, ClientFrame, Customer, Event, Json, Message, MultiThreadStrategy, OutgoingAttachment,
    OutgoingBody, ServerFrame, Theme, Thread, ThreadStatus, WidgetConfig,
};
use livechat_widget::core::effect::{
    AuthResult, ContextualResult, DraftResult, InitResult, LanguageResult, ResetResult, SentResult, ThemeResult,
    UiResult,
};
use livechat_widget::core::{ApiError, Delivery, ErrorCode, OutboxItem, OutboxRequest, Reply, StoredState};
use livechat_widget::wire;
use serde_json::json;

/// Strings that need every kind of escaping JSON has.
const TRICKY: &str =
    "quote \" backslash \\ slash / nl \n cr \r tab \t bs \u{8} ff \u{c} nul \u{0} us \u{1f} del \u{7f} \
                      ls \u{2028} ps \u{2029} é 漢 😀 </script>";

fn tricky_metadata() -> Json {
    json!({
        "color": "red", "tricky": TRICKY, TRICKY: 1, "n": -12, "big": 9_007_199_254_740_991u64, "f": 1.5,
        "nested": {"a": [1, 2.25, null, true, false, {"b": []}], "": {}}, "null": null
    })
}

fn message(id: &str, author: Author, custom: bool, attachment: bool) -> Message {
    Message {
        id: id.into(),
        thread_id: "thr-1".into(),
        client_id: (author == Author::Visitor).then(|| format!("c-{id}")),
        author,
        agent_name: (author == Author::Agent).then(|| "Ana \"the agent\"".into()),
        text: (!custom).then(|| TRICKY.into()),
        attachment: attachment.then(|| Attachment {
            id: "att-1".into(),
            file_name: "a \"b\".pdf".into(),
            content_type: "application/pdf".into(),
            size: 12345,
            url: "/v1/attachments/att-1".into(),
        }),
        custom,
        created_at: 1_700_000_000_123,
    }
}

fn rich_state() -> StoredState {
    let mut s = StoredState::fresh(common::WIDGET);
    s.session = Some(TRICKY.into());
    s.customer = Some(Customer { subject: "ana@example.com".into(), subject_type: "email".into() });
    s.last_seq = 9_007_199_254_740_991;
    s.ui.open = true;
    s.ui.draft = TRICKY.into();
    s.ui.unread = 4_000_000_000;
    s.ui.thread_list = true;
    s.language = Some("hr-HR".into());
    s.threads = vec![
        Thread {
            id: "thr-1".into(),
            status: ThreadStatus::Solved,
            created_at: 1,
            messages: vec![
                message("m1", Author::Visitor, false, false),
                message("m2", Author::Agent, false, true),
                message("m3", Author::System, true, false),
            ],
        },
        Thread { id: "thr-2".into(), status: ThreadStatus::Closed, created_at: 2, messages: vec![] },
        Thread { id: "thr-3".into(), status: ThreadStatus::Open, created_at: 3, messages: vec![] },
    ];
    s.active_thread = Some("thr-3".into());
    s.outbox = vec![
        OutboxItem {
            id: "m-2".into(),
            request: OutboxRequest::Message {
                thread_id: Some("thr-3".into()),
                new_thread: true,
                body: OutgoingBody::Basic {
                    text: Some(TRICKY.into()),
                    attachment: Some(OutgoingAttachment {
                        file_name: "x.png".into(),
                        content: "data:image/png;base64,AAAA".into(),
                    }),
                },
            },
            status: Delivery::Sending,
            created_at: 3,
        },
        OutboxItem {
            id: "m-3".into(),
            request: OutboxRequest::Message {
                thread_id: None,
                new_thread: false,
                body: OutgoingBody::CustomData {
                    custom_data: tricky_metadata(),
                    agent_message: Some("for agents".into()),
                    user_message: None,
                },
            },
            status: Delivery::Sending,
            created_at: 4,
        },
        OutboxItem {
            id: "d-1".into(),
            request: OutboxRequest::ContextualData {
                metadata: tricky_metadata().as_object().unwrap().clone().into_iter().collect(),
                strategy: MultiThreadStrategy::AllPlusNew,
            },
            status: Delivery::Failed { code: "invalid_metadata".into(), message: TRICKY.into() },
            created_at: 5,
        },
    ];
    let mut config = common::config(common::WIDGET);
    config.themes.insert(
        "all".into(),
        Theme {
            primary: Some("#000".into()),
            on_primary: Some("#fff".into()),
            background: Some("#eee".into()),
            text: Some("#111".into()),
            font: Some("\"Comic Sans\", serif".into()),
            launcher_position: Some("left".into()),
        },
    );
    config.languages = vec!["hr-HR".into(), "en-US".into()];
    config.multi_thread = true;
    s.config = Some(config);
    s.ended_sessions = vec!["old-session".into(), TRICKY.into()];
    s.complete_threads = vec!["thr-1".into(), TRICKY.into()];
    s
}

fn states() -> Vec<StoredState> {
    let mut minimal = StoredState::fresh("w");
    minimal.config = None;
    let snapshot: StoredState =
        serde_json::from_str(&std::fs::read_to_string("tests/snapshots/stored_state_v1.json").unwrap()).unwrap();
    vec![minimal, snapshot, rich_state()]
}

#[test]
fn stored_state_text_is_what_serde_wrote() {
    for state in states() {
        assert_eq!(wire::write_stored_state(&state), serde_json::to_string(&state).unwrap());
    }
}

#[test]
fn stored_state_reads_back() {
    for state in states() {
        let text = wire::write_stored_state(&state);
        assert_eq!(wire::stored_state(&serde_json::from_str(&text).unwrap()).as_ref(), Some(&state));
    }
}

fn client_frames() -> Vec<ClientFrame> {
    let metadata: std::collections::BTreeMap<String, Json> =
        tricky_metadata().as_object().unwrap().clone().into_iter().collect();
    vec![
        ClientFrame::Hello { protocol: 1, widget_id: "w".into(), session: None, last_seq: 0, end_sessions: vec![] },
        ClientFrame::Hello { protocol: 1, widget_id: "w".into(), session: Some(TRICKY.into()), last_seq: 42, end_sessions: vec![] },
        ClientFrame::Hello {
            protocol: 1,
            widget_id: "w".into(),
            session: None,
            last_seq: 0,
            end_sessions: vec!["old-1".into(), TRICKY.into()],
        },
        ClientFrame::Auth { req: "a-1".into(), jwt: "x.y.z".into() },
        ClientFrame::Logout { req: "l-1".into() },
        ClientFrame::Send {
            req: "m-1".into(),
            thread_id: None,
            new_thread: false,
            body: OutgoingBody::Basic { text: Some(TRICKY.into()), attachment: None },
        },
        ClientFrame::Send {
            req: "m-2".into(),
            thread_id: Some("thr-1".into()),
            new_thread: true,
            body: OutgoingBody::Basic {
                text: None,
                attachment: Some(OutgoingAttachment { file_name: TRICKY.into(), content: "AAAA".into() }),
            },
        },
        ClientFrame::Send {
            req: "m-3".into(),
            thread_id: None,
            new_thread: false,
            body: OutgoingBody::CustomData {
                custom_data: tricky_metadata(),
                agent_message: None,
                user_message: Some("u".into()),
            },
        },
        ClientFrame::Send {
            req: "m-4".into(),
            thread_id: None,
            new_thread: false,
            body: OutgoingBody::CustomData {
                custom_data: json!("just text"),
                agent_message: Some("a".into()),
                user_message: None,
            },
        },
        ClientFrame::ContextualData {
            req: "d-1".into(),
            metadata: metadata.clone(),
            strategy: MultiThreadStrategy::Active,
        },
        ClientFrame::ContextualData {
            req: "d-2".into(),
            metadata: Default::default(),
            strategy: MultiThreadStrategy::All,
        },
        ClientFrame::History { req: "h-1".into(), thread_id: "thr-1".into(), before: None, limit: 50 },
        ClientFrame::History { req: "h-2".into(), thread_id: TRICKY.into(), before: Some("m-7".into()), limit: 1 },
        ClientFrame::Ping { nonce: 1_700_000_000_000 },
    ]
}

#[test]
fn client_frames_are_what_serde_wrote() {
    for frame in client_frames() {
        assert_eq!(wire::write_client_frame(&frame), serde_json::to_string(&frame).unwrap());
    }
}

#[test]
fn replies_and_errors_are_what_serde_wrote() {
    let customer = Customer { subject: TRICKY.into(), subject_type: "email".into() };
    let replies = vec![
        Reply::Init(InitResult { widget_id: "w".into(), language: "hr-HR".into(), online: true, customer: None }),
        Reply::Init(InitResult {
            widget_id: "w".into(),
            language: "en-US".into(),
            online: false,
            customer: Some(customer.clone()),
        }),
        Reply::Auth(AuthResult { customer }),
        Reply::Reset(ResetResult { cleared: "w".into(), logged_out: true }),
        Reply::Ui(UiResult { open: true, launcher: false }),
        Reply::Theme(ThemeResult { theme: "dark".into() }),
        Reply::Sent(SentResult {
            message_id: "m".into(),
            thread_id: "t".into(),
            client_id: "c".into(),
            created_at: 17,
        }),
        Reply::Draft(DraftResult { draft: TRICKY.into() }),
        Reply::Contextual(ContextualResult {
            request_id: "d".into(),
            thread_ids: vec!["a".into(), "b".into()],
            queued: false,
        }),
        Reply::Contextual(ContextualResult { request_id: "d".into(), thread_ids: vec![], queued: true }),
        Reply::Language(LanguageResult { language: "en-US".into(), fallback: true, requested: Some("xx".into()) }),
        Reply::Language(LanguageResult { language: "hr-HR".into(), fallback: false, requested: None }),
    ];
    for r in &replies {
        assert_eq!(wire::write_reply(r), serde_json::to_string(r).unwrap());
    }
    for e in [
        ApiError::new(ErrorCode::InvalidArgument, TRICKY),
        ApiError::rejected("attachment_rejected", "too big"),
        ApiError::rejected("reauth_required", ""),
    ] {
        assert_eq!(wire::write_error(&e), serde_json::to_string(&e).unwrap());
    }
}

#[test]
fn object_keys_come_in_javascript_order() {
    // JavaScript puts array-index keys first, ascending; the others keep insertion order
    // (here the map's sorted order). JSON.stringify of the old JS objects gave exactly this.
    let v = json!({"b": 1, "10": 2, "9": 3, "a": 4, "01": 5, "4294967295": 6, "4294967294": 7, "-1": 8, "0": 9});
    assert_eq!(wire::write_json(&v), r#"{"0":9,"9":3,"10":2,"4294967294":7,"-1":8,"01":5,"4294967295":6,"a":4,"b":1}"#);
}

/// Every value reachable from `v` replaced, one at a time, by each of a few wrong shapes
/// (and every object field removed once), so the readers are compared with the derives on
/// hundreds of malformed documents.
fn mutations(v: &Json) -> Vec<Json> {
    let replacements = [
        Json::Null,
        json!("bogus"),
        json!(1.5),
        json!(-1),
        json!(4_294_967_296u64),
        json!(0),
        json!(true),
        // Not `[]`: serde_json reads a struct from an array by position (serde-wasm-bindgen
        // did not, and neither does the widget), which would make an all-optional struct agree.
        json!([1]),
        json!({}),
        json!({"x": 1}),
        json!("OPEN"),
        json!("sending"),
        json!({"sending": null}),
        json!({"failed": {"code": "c", "message": "m"}}),
    ];
    let mut out = Vec::new();
    fn walk(root: &Json, path: &mut Vec<PathStep>, node: &Json, out: &mut Vec<Json>, replacements: &[Json]) {
        for r in replacements {
            out.push(replace(root, path, Some(r.clone())));
        }
        match node {
            Json::Object(map) => {
                for (k, child) in map {
                    path.push(PathStep::Key(k.clone()));
                    out.push(replace(root, path, None));
                    walk(root, path, child, out, replacements);
                    path.pop();
                }
            }
            Json::Array(items) => {
                for (i, child) in items.iter().enumerate().take(2) {
                    path.push(PathStep::Index(i));
                    walk(root, path, child, out, replacements);
                    path.pop();
                }
            }
            _ => {}
        }
    }
    walk(v, &mut Vec::new(), v, &mut out, &replacements);
    out
}

#[derive(Clone)]
enum PathStep {
    Key(String),
    Index(usize),
}

/// A copy of `root` with the value at `path` replaced (`Some`) or its key removed (`None`).
fn replace(root: &Json, path: &[PathStep], with: Option<Json>) -> Json {
    let mut copy = root.clone();
    let Some((last, parents)) = path.split_last() else {
        return with.unwrap_or(Json::Null);
    };
    let mut node = &mut copy;
    for step in parents {
        node = match step {
            PathStep::Key(k) => node.get_mut(k.as_str()).unwrap(),
            PathStep::Index(i) => node.get_mut(*i).unwrap(),
        };
    }
    match (last, with) {
        (PathStep::Key(k), Some(w)) => {
            node[k.as_str()] = w;
        }
        (PathStep::Key(k), None) => {
            node.as_object_mut().unwrap().remove(k.as_str());
        }
        (PathStep::Index(i), Some(w)) => node[*i] = w,
        (PathStep::Index(i), None) => {
            node.as_array_mut().unwrap().remove(*i);
        }
    }
    copy
}

#[test]
fn stored_state_reader_agrees_with_the_derive_on_malformed_data() {
    let mut checked = 0;
    for state in states() {
        for v in mutations(&serde_json::to_value(&state).unwrap()) {
            let derive = serde_json::from_value::<StoredState>(v.clone()).ok();
            assert_eq!(wire::stored_state(&v), derive, "disagree on {v}");
            checked += 1;
        }
    }
    assert!(checked > 1000, "{checked}");
}

fn server_frames() -> Vec<ServerFrame> {
    let customer = Customer { subject: "s".into(), subject_type: "msisdn".into() };
    let state = rich_state();
    vec![
        ServerFrame::Welcome { protocol: 1, session: "s".into(), customer: None, resumed: false, online: true },
        ServerFrame::Welcome {
            protocol: 1,
            session: "s".into(),
            customer: Some(customer.clone()),
            resumed: true,
            online: false,
        },
        ServerFrame::Sync { last_seq: 3, threads: state.threads.clone(), pending_metadata: None },
        ServerFrame::Sync {
            last_seq: 3,
            threads: vec![],
            pending_metadata: Some(tricky_metadata().as_object().unwrap().clone().into_iter().collect()),
        },
        ServerFrame::Event { seq: 4, event: Event::Message { message: message("m9", Author::Agent, false, true) } },
        ServerFrame::Event { seq: 5, event: Event::ThreadOpened { thread: state.threads[1].clone() } },
        ServerFrame::Event {
            seq: 6,
            event: Event::ThreadStatus { thread_id: "t".into(), status: ThreadStatus::Closed },
        },
        ServerFrame::Event { seq: 7, event: Event::Availability { online: true } },
        ServerFrame::Ack { req: "m-1".into(), message: message("m1", Author::Visitor, false, false) },
        ServerFrame::ContextAck { req: "d-1".into(), thread_ids: vec!["t".into()], queued: false },
        ServerFrame::AuthOk { req: "a".into(), customer, session: "s2".into() },
        ServerFrame::LoggedOut { req: "l".into() },
        ServerFrame::Error { req: None, code: "c".into(), message: "m".into(), retry_after_ms: None },
        ServerFrame::Error {
            req: Some("r".into()),
            code: "rate_limited".into(),
            message: "m".into(),
            retry_after_ms: Some(500),
        },
        ServerFrame::HistoryPage {
            req: "h-1".into(),
            thread_id: "t".into(),
            messages: vec![message("m0", Author::Visitor, false, false), message("m1", Author::Agent, true, true)],
            more: true,
        },
        ServerFrame::HistoryPage { req: "h-2".into(), thread_id: "t".into(), messages: vec![], more: false },
        ServerFrame::Pong { nonce: 9 },
    ]
}

#[test]
fn server_frame_reader_agrees_with_the_derive() {
    for frame in server_frames() {
        let v = serde_json::to_value(&frame).unwrap();
        assert_eq!(wire::server_frame(&v).as_ref(), Some(&frame));
        for m in mutations(&v) {
            let mut derive = serde_json::from_value::<ServerFrame>(m.clone()).ok();
            // serde's internally tagged enums also take a variant index as the tag; the widget
            // (before and now) takes only the name.
            let kind = m.get("event").and_then(|e| e.get("kind"));
            if !m["type"].is_string() || kind.is_some_and(|k| !k.is_string()) {
                derive = None;
            }
            assert_eq!(wire::server_frame(&m), derive, "disagree on {m}");
        }
    }
}

#[test]
fn config_reader_agrees_with_the_derive() {
    let config = rich_state().config.unwrap();
    let v = serde_json::to_value(&config).unwrap();
    assert_eq!(wire::widget_config(&v).as_ref(), Some(&config));
    for m in mutations(&v) {
        assert_eq!(wire::widget_config(&m), serde_json::from_value::<WidgetConfig>(m.clone()).ok(), "disagree on {m}");
    }
}
