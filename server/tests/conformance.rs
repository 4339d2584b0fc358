//! One conformance suite for every store backend: each case runs against the in-memory
//! store, SQLite and PostgreSQL (the `cases!` lines at the bottom; PostgreSQL: one cluster
//! for this test binary, a fresh database per test, see `common/pg.rs`). The cases exercise the
//! service layer's rules (thread routing, idempotency, contextual data, sessions, auth,
//! inactivity, resume-or-sync) through [`Service`] and the row-level operations of the
//! [`Tx`](livechat_server::store::Tx) trait directly, so every backend must give the same
//! answers.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use livechat_protocol::{Customer, Event, Json, MultiThreadStrategy, OutgoingBody, ThreadStatus};
use livechat_server::config::Config;
use livechat_server::service::rate::RateLimit;
use livechat_server::service::{rules, AuthRequest, CatchUp, SendOutcome, Service};
use livechat_server::store::{self, Effects, Principal, Store, StoreError};

const SINGLE: &str = common::SINGLE;
const MULTI: &str = common::MULTI;
const T0: u64 = 1_790_000_000_000;

/// A store under test and whatever keeps it alive (temp dir, database).
pub struct Backend {
    store: Arc<dyn Store>,
    published: Arc<Mutex<Vec<Effects>>>,
    _guard: Box<dyn std::any::Any>,
}

impl Backend {
    fn new(store: Arc<dyn Store>, guard: Box<dyn std::any::Any>) -> Backend {
        let published = Arc::new(Mutex::new(Vec::new()));
        let p = published.clone();
        store.set_publisher(Arc::new(move |fx: &Effects| p.lock().unwrap().push(fx.clone())));
        Backend { store, published, _guard: guard }
    }

    fn service(&self) -> Service {
        let config = Config::from_toml_str(&common::config_toml("")).expect("config");
        Service::new(self.store.clone(), Arc::new(config))
    }
}

fn memory() -> Backend {
    Backend::new(Arc::new(livechat_server::store::memory::MemoryStore::new()), Box::new(()))
}

fn sqlite() -> Backend {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = livechat_server::store::sqlite::SqliteStore::open(dir.path()).expect("open");
    Backend::new(Arc::new(store), Box::new(dir))
}

/// A fresh database in the test binary's PostgreSQL cluster.
fn postgres() -> Backend {
    let url = common::pg::shared().fresh_database();
    let store = livechat_server::store::postgres::PostgresStore::open(&url).expect("open postgres store");
    Backend::new(Arc::new(store), Box::new(()))
}

fn run<F: std::future::Future>(f: F) -> F::Output {
    futures::executor::block_on(f)
}

fn widget<'a>(s: &'a Service, id: &str) -> &'a livechat_server::config::WidgetSettings {
    s.config.widget(id).expect("widget")
}

fn visitor(s: &Service, w: &str) -> Principal {
    s.open_session(widget(s, w), None, T0).expect("session").principal
}

fn text(t: &str) -> OutgoingBody {
    serde_json::from_value(serde_json::json!({"kind": "BASIC", "text": t})).expect("body")
}

/// Sends `t` with key `req`; returns the stored (or duplicate) message's (id, thread).
fn send(s: &Service, w: &str, p: &Principal, req: &str, t: &str, thread: Option<&str>, new_thread: bool) -> Result<(String, String, bool), StoreError> {
    let dir = std::env::temp_dir();
    let r = s
        .prepare_send(widget(s, w), p.id.clone(), req.into(), thread.map(str::to_string), new_thread, text(t), &dir, T0)
        .expect("valid");
    run(s.send(r)).map(|o| match o {
        SendOutcome::Stored { message, .. } => (message.id, message.thread_id, true),
        SendOutcome::Duplicate { message } => (message.id, message.thread_id, false),
    })
}

fn context(s: &Service, w: &str, p: &Principal, req: &str, kv: &[(&str, Json)], strategy: MultiThreadStrategy) -> (Vec<String>, bool) {
    let md: BTreeMap<String, Json> = kv.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
    let r = s.prepare_context(widget(s, w), p.id.clone(), req.into(), md, strategy, T0).expect("valid");
    let (res, _) = run(s.contextual_data(r)).expect("stored");
    (res.thread_ids, res.queued)
}

fn events(b: &Backend, p: &Principal) -> Vec<(u64, Event)> {
    let (ev, head) = store::read(&*b.store, |tx| Ok((tx.events_after(&p.id, 0)?, tx.head(&p.id)?))).expect("read");
    assert_eq!(ev.iter().map(|(s, _)| *s).collect::<Vec<_>>(), (1..=head).collect::<Vec<_>>(), "gap-free sequence");
    ev
}

fn auth_req(p: &Principal, w: &str, sub: &str, jti: &str, multi: bool) -> AuthRequest {
    AuthRequest {
        widget_id: w.into(),
        multi_thread: multi,
        from: p.clone(),
        old_token_hash: None,
        new_token_hash: format!("h-{jti}"),
        customer: Customer { subject: sub.into(), subject_type: "email".into() },
        jti: jti.into(),
        jti_exp_ms: T0 + 60_000,
        auth_expires_ms: None,
        recent_messages: 50,
        now: T0,
    }
}

/// One test per case for a backend (a module named after the backend's constructor).
macro_rules! for_backend {
    ($backend:ident; $($case:ident),* $(,)?) => {
        mod $backend {
            $(#[test]
            fn $case() {
                super::cases::$case(super::$backend())
            })*
        }
    };
}

/// Every case, by name.
macro_rules! cases {
    ($backend:ident) => {
        for_backend!($backend;
            send_opens_a_thread_then_reuses_it,
            explicit_thread_rules,
            idempotent_send,
            multi_thread_new_thread_and_active_routing,
            contextual_data_targets_and_queue,
            sticky_data_in_snapshot_and_new_threads,
            single_thread_ignores_strategy,
            sessions_resume_or_start_fresh,
            hello_ends_the_named_sessions_first,
            resume_or_sync,
            auth_moves_history_and_jti_is_single_use,
            single_thread_auth_keeps_one_open_thread,
            inactivity_closes_idle_threads,
            agent_reply_and_status,
            failed_rule_leaves_no_trace,
            effects_published_after_commit_in_order,
            row_level_unique_keys,
            visitor_writes_share_one_bucket,
            history_pages_back_to_the_first_message,
            messages_before_rows,
        );
    };
}

mod cases {
    use super::*;

    pub fn send_opens_a_thread_then_reuses_it(b: Backend) {
        let s = b.service();
        let p = visitor(&s, SINGLE);
        let (_, t1, stored) = send(&s, SINGLE, &p, "r1", "hello", None, false).unwrap();
        assert!(stored);
        let (_, t2, _) = send(&s, SINGLE, &p, "r2", "again", None, false).unwrap();
        assert_eq!(t1, t2, "the active open thread takes the next message");
        let ev = events(&b, &p);
        assert!(matches!(&ev[0].1, Event::ThreadOpened { thread } if thread.id == t1));
        assert!(matches!(&ev[1].1, Event::Message { message } if message.text.as_deref() == Some("hello")));
        assert!(matches!(&ev[2].1, Event::Message { message } if message.text.as_deref() == Some("again")));
        assert_eq!(ev.len(), 3);
        let msgs = s.conversation_messages(&t1).unwrap().unwrap();
        assert_eq!(msgs.len(), 2);
        assert!(msgs[0].message.created_at < msgs[1].message.created_at, "times follow storage order");
    }

    pub fn explicit_thread_rules(b: Backend) {
        let s = b.service();
        let p = visitor(&s, MULTI);
        let other = visitor(&s, MULTI);
        let (_, t, _) = send(&s, MULTI, &p, "r1", "hi", None, false).unwrap();
        assert_eq!(send(&s, MULTI, &p, "r2", "x", Some("nope"), false).unwrap_err(), StoreError::UnknownThread);
        assert_eq!(send(&s, MULTI, &other, "r3", "x", Some(&t), false).unwrap_err(), StoreError::UnknownThread);
        s.set_status(&t, ThreadStatus::Solved, T0 + 1).unwrap();
        assert_eq!(send(&s, MULTI, &p, "r4", "x", Some(&t), false).unwrap_err(), StoreError::ThreadClosed);
        let (_, t2, _) = send(&s, MULTI, &p, "r5", "new", None, false).unwrap();
        assert_ne!(t, t2, "a solved thread takes no more messages: a new one opens");
    }

    pub fn idempotent_send(b: Backend) {
        let s = b.service();
        let p = visitor(&s, SINGLE);
        let (id1, _, stored1) = send(&s, SINGLE, &p, "same", "hello", None, false).unwrap();
        let (id2, _, stored2) = send(&s, SINGLE, &p, "same", "hello", None, false).unwrap();
        assert!(stored1 && !stored2);
        assert_eq!(id1, id2);
        assert_eq!(send(&s, SINGLE, &p, "same", "changed", None, false).unwrap_err(), StoreError::Conflict);
        // A contextual_data with a key used by a send is a conflict too.
        let md: BTreeMap<String, Json> = [("k".to_string(), Json::from(1))].into();
        let r = s.prepare_context(widget(&s, SINGLE), p.id.clone(), "same".into(), md, MultiThreadStrategy::Active, T0).unwrap();
        assert_eq!(run(s.contextual_data(r)).unwrap_err(), StoreError::Conflict);
        assert_eq!(events(&b, &p).len(), 2, "thread_opened + one message");
    }

    pub fn multi_thread_new_thread_and_active_routing(b: Backend) {
        let s = b.service();
        let p = visitor(&s, MULTI);
        let (_, t1, _) = send(&s, MULTI, &p, "a", "one", None, false).unwrap();
        let (_, t2, _) = send(&s, MULTI, &p, "b", "two", None, true).unwrap();
        assert_ne!(t1, t2);
        let (_, t3, _) = send(&s, MULTI, &p, "c", "three", None, false).unwrap();
        assert_eq!(t3, t2, "no thread id: the open thread with the newest message");
        send(&s, MULTI, &p, "d", "to one", Some(&t1), false).unwrap();
        let (_, t4, _) = send(&s, MULTI, &p, "e", "next", None, false).unwrap();
        assert_eq!(t4, t1);
        // new_thread on a single-thread widget is ignored.
        let q = visitor(&s, SINGLE);
        let (_, u1, _) = send(&s, SINGLE, &q, "a", "one", None, false).unwrap();
        let (_, u2, _) = send(&s, SINGLE, &q, "b", "two", None, true).unwrap();
        assert_eq!(u1, u2);
    }

    pub fn contextual_data_targets_and_queue(b: Backend) {
        let s = b.service();
        let p = visitor(&s, MULTI);
        let (ids, queued) = context(&s, MULTI, &p, "c1", &[("cart", Json::from(3))], MultiThreadStrategy::Active);
        assert!(ids.is_empty() && queued, "no thread yet: queued");
        let (_, t1, _) = send(&s, MULTI, &p, "m1", "hi", None, false).unwrap();
        let md = s.conversation_metadata(&t1).unwrap().unwrap();
        assert_eq!(md["cart"].value, Json::from(3), "queued data lands on the next thread");
        let (_, t2, _) = send(&s, MULTI, &p, "m2", "second", None, true).unwrap();
        assert!(s.conversation_metadata(&t2).unwrap().unwrap().is_empty(), "the one-shot queue was consumed");
        let (ids, queued) = context(&s, MULTI, &p, "c2", &[("page", Json::from("/a"))], MultiThreadStrategy::All);
        assert!(!queued);
        let mut want = vec![t1.clone(), t2.clone()];
        want.sort();
        let mut got = ids.clone();
        got.sort();
        assert_eq!(got, want);
        let (ids, _) = context(&s, MULTI, &p, "c3", &[("page", Json::from("/b"))], MultiThreadStrategy::Active);
        assert_eq!(ids, vec![t2.clone()]);
        assert_eq!(s.conversation_metadata(&t2).unwrap().unwrap()["page"].value, Json::from("/b"));
        assert_eq!(s.conversation_metadata(&t1).unwrap().unwrap()["page"].value, Json::from("/a"));
        // The same request again: same answer, nothing changes.
        let (again, _) = context(&s, MULTI, &p, "c3", &[("page", Json::from("/b"))], MultiThreadStrategy::Active);
        assert_eq!(again, ids);
    }

    pub fn sticky_data_in_snapshot_and_new_threads(b: Backend) {
        let s = b.service();
        let p = visitor(&s, MULTI);
        let (_, t1, _) = send(&s, MULTI, &p, "m1", "hi", None, false).unwrap();
        let (ids, queued) = context(&s, MULTI, &p, "c1", &[("plan", Json::from("gold"))], MultiThreadStrategy::AllPlusNew);
        assert_eq!((ids, queued), (vec![t1.clone()], false));
        let snap = s.snapshot(&p.id).unwrap();
        assert_eq!(snap.pending.get("plan"), Some(&Json::from("gold")));
        let (_, t2, _) = send(&s, MULTI, &p, "m2", "new", None, true).unwrap();
        let (_, t3, _) = send(&s, MULTI, &p, "m3", "newer", None, true).unwrap();
        for t in [&t2, &t3] {
            assert_eq!(s.conversation_metadata(t).unwrap().unwrap()["plan"].value, Json::from("gold"), "sticky data on every new thread");
        }
    }

    pub fn single_thread_ignores_strategy(b: Backend) {
        let s = b.service();
        let p = visitor(&s, SINGLE);
        let (_, t1, _) = send(&s, SINGLE, &p, "m1", "hi", None, false).unwrap();
        let (ids, queued) = context(&s, SINGLE, &p, "c1", &[("k", Json::from(1))], MultiThreadStrategy::AllPlusNew);
        assert_eq!((ids, queued), (vec![t1], false));
        assert!(s.snapshot(&p.id).unwrap().pending.is_empty(), "ACTIVE: nothing sticky");
    }

    pub fn sessions_resume_or_start_fresh(b: Backend) {
        let s = b.service();
        let w = widget(&s, SINGLE);
        let first = s.open_session(w, None, T0).unwrap();
        assert!(first.fresh);
        let again = s.open_session(w, Some(first.token.clone()), T0 + 10).unwrap();
        assert!(!again.fresh);
        assert_eq!(again.principal.id, first.principal.id);
        // Another widget's token does not resume.
        let other = s.open_session(widget(&s, MULTI), Some(first.token.clone()), T0 + 20).unwrap();
        assert!(other.fresh);
        assert_ne!(other.principal.id, first.principal.id);
        // Idle longer than the limit: a new visitor.
        let idle = s.config.limits.session_idle_timeout_secs * 1000;
        let late = s.open_session(w, Some(first.token.clone()), T0 + 10 + idle + 1).unwrap();
        assert!(late.fresh);
        // Ended sessions do not resume.
        let x = s.open_session(w, None, T0).unwrap();
        s.end_session(&x.token_hash).unwrap();
        assert!(s.open_session(w, Some(x.token), T0 + 1).unwrap().fresh);
    }

    pub fn hello_ends_the_named_sessions_first(b: Backend) {
        let s = b.service();
        let w = widget(&s, SINGLE);
        let old = s.open_session(w, None, T0).unwrap();
        let other = s.open_session(w, None, T0).unwrap();
        // The visitor logged out offline: the next hello names the old token (among junk)
        // and presents it too (a tab that did not hear of the logout): it resumes nothing.
        let junk = vec![String::new(), "x".repeat(300), "not-a-session".into()];
        let named = [junk.clone(), vec![old.token.clone()]].concat();
        let opened = s.hello(w, Some(old.token.clone()), &named, T0 + 1).unwrap();
        assert!(opened.fresh, "an ended session is never resumed by the hello that names it");
        assert_ne!(opened.principal.id, old.principal.id);
        assert!(s.open_session(w, Some(old.token.clone()), T0 + 2).unwrap().fresh, "ended for good");
        assert!(!s.open_session(w, Some(other.token.clone()), T0 + 2).unwrap().fresh, "others untouched");
        // At most MAX_END_SESSIONS are read: a ninth token is not ended.
        let many: Vec<_> = (0..9).map(|_| s.open_session(w, None, T0).unwrap()).collect();
        let tokens: Vec<String> = many.iter().map(|o| o.token.clone()).collect();
        assert_eq!(livechat_protocol::MAX_END_SESSIONS, 8);
        s.hello(w, None, &tokens, T0 + 3).unwrap();
        assert!(s.open_session(w, Some(tokens[7].clone()), T0 + 4).unwrap().fresh);
        assert!(!s.open_session(w, Some(tokens[8].clone()), T0 + 4).unwrap().fresh, "the ninth is ignored");
    }

    pub fn resume_or_sync(b: Backend) {
        let s = b.service();
        let p = visitor(&s, SINGLE);
        send(&s, SINGLE, &p, "m1", "hi", None, false).unwrap();
        send(&s, SINGLE, &p, "m2", "there", None, false).unwrap();
        match s.catch_up(&p.id, 1, false).unwrap() {
            CatchUp::Resume(ev) => assert_eq!(ev.iter().map(|(s, _)| *s).collect::<Vec<_>>(), vec![2, 3]),
            other => panic!("expected resume, got {other:?}"),
        }
        for (last, fresh) in [(0, false), (4, false), (2, true)] {
            match s.catch_up(&p.id, last, fresh).unwrap() {
                CatchUp::Sync(snap) => {
                    assert_eq!(snap.last_seq, 3);
                    assert_eq!(snap.threads.len(), 1);
                    assert_eq!(snap.threads[0].messages.len(), 2);
                }
                other => panic!("last_seq {last} fresh {fresh}: expected sync, got {other:?}"),
            }
        }
        let q = visitor(&s, SINGLE);
        assert!(matches!(s.catch_up(&q.id, 0, false).unwrap(), CatchUp::Resume(ev) if ev.is_empty()));
    }

    pub fn auth_moves_history_and_jti_is_single_use(b: Backend) {
        let s = b.service();
        let p = visitor(&s, MULTI);
        let (_, t1, _) = send(&s, MULTI, &p, "m1", "hi", None, false).unwrap();
        context(&s, MULTI, &p, "c1", &[("k", Json::from(1))], MultiThreadStrategy::AllPlusNew);
        let c = s.authenticate(auth_req(&p, MULTI, "alice@example.com", "j1", true)).unwrap();
        assert!(c.customer.is_some());
        assert_ne!(c.id, p.id);
        let conv = s.conversation(&t1).unwrap().unwrap();
        assert_eq!(conv.principal.id, c.id);
        assert_eq!(conv.principal.kind, "customer");
        assert_eq!(s.snapshot(&c.id).unwrap().pending.get("k"), Some(&Json::from(1)));
        // The visitor's idempotency keys moved: the same req is a duplicate for the customer.
        let (_, t, stored) = send(&s, MULTI, &c, "m1", "hi", None, false).unwrap();
        assert!(!stored);
        assert_eq!(t, t1);
        let ev = events(&b, &c);
        assert!(matches!(&ev[0].1, Event::ThreadOpened { thread } if thread.id == t1 && thread.messages.len() == 1));
        // Replay of the jti: refused, even for another visitor.
        let q = visitor(&s, MULTI);
        assert_eq!(s.authenticate(auth_req(&q, MULTI, "bob@example.com", "j1", true)).unwrap_err(), StoreError::JtiReplayed);
        // A second sign-in of the same customer finds the same principal.
        let again = s.authenticate(auth_req(&q, MULTI, "alice@example.com", "j2", true)).unwrap();
        assert_eq!(again.id, c.id);
    }

    pub fn single_thread_auth_keeps_one_open_thread(b: Backend) {
        let s = b.service();
        let first = visitor(&s, SINGLE);
        let (_, t_old, _) = send(&s, SINGLE, &first, "a", "old", None, false).unwrap();
        let c = s.authenticate(auth_req(&first, SINGLE, "carol@example.com", "j1", false)).unwrap();
        let second = visitor(&s, SINGLE);
        let (_, t_new, _) = send(&s, SINGLE, &second, "b", "new", None, false).unwrap();
        let again = s.authenticate(auth_req(&second, SINGLE, "carol@example.com", "j2", false)).unwrap();
        assert_eq!(again.id, c.id);
        let open: Vec<_> = s.snapshot(&c.id).unwrap().threads.into_iter().filter(|t| t.status == ThreadStatus::Open).collect();
        assert_eq!(open.len(), 1, "single-thread: one open thread after the merge");
        assert_eq!(open[0].id, t_new, "the most recently active stays open");
        assert_eq!(s.conversation(&t_old).unwrap().unwrap().status, ThreadStatus::Closed);
    }

    pub fn inactivity_closes_idle_threads(b: Backend) {
        let s = b.service();
        let p = visitor(&s, common::FAST);
        let (_, t, _) = send(&s, common::FAST, &p, "a", "hi", None, false).unwrap();
        s.sweep(T0 + 100, false).unwrap();
        assert_eq!(s.conversation(&t).unwrap().unwrap().status, ThreadStatus::Open, "not idle yet");
        s.sweep(T0 + 10_000, true).unwrap();
        assert_eq!(s.conversation(&t).unwrap().unwrap().status, ThreadStatus::Closed);
        let ev = events(&b, &p);
        assert!(matches!(&ev.last().unwrap().1, Event::ThreadStatus { status: ThreadStatus::Closed, .. }));
        s.sweep(T0 + 20_000, false).unwrap();
        assert_eq!(events(&b, &p).len(), ev.len(), "closed once");
    }

    pub fn agent_reply_and_status(b: Backend) {
        let s = b.service();
        let p = visitor(&s, SINGLE);
        let (_, t, _) = send(&s, SINGLE, &p, "a", "hi", None, false).unwrap();
        let m = s.agent_reply(&t, "Ann", "hello!", T0).unwrap();
        assert_eq!(m.message.agent_name.as_deref(), Some("Ann"));
        let conv = s.conversation(&t).unwrap().unwrap();
        assert_eq!((conv.message_count, conv.unread_count), (2, 0));
        send(&s, SINGLE, &p, "b", "more", None, false).unwrap();
        assert_eq!(s.conversation(&t).unwrap().unwrap().unread_count, 1);
        assert_eq!(s.agent_reply("nope", "Ann", "x", T0).unwrap_err(), StoreError::UnknownThread);
        let before = events(&b, &p).len();
        s.set_status(&t, ThreadStatus::Solved, T0 + 5).unwrap();
        s.set_status(&t, ThreadStatus::Solved, T0 + 6).unwrap();
        assert_eq!(events(&b, &p).len(), before + 1, "no event when the status does not change");
        assert_eq!(s.agent_reply(&t, "Ann", "x", T0).unwrap_err(), StoreError::ThreadClosed);
        let list = s.list_conversations(Some(SINGLE), Some(ThreadStatus::Solved), 10).unwrap();
        assert_eq!(list.iter().map(|c| c.id.clone()).collect::<Vec<_>>(), vec![t]);
        assert!(s.list_conversations(Some(MULTI), None, 10).unwrap().is_empty());
    }

    pub fn failed_rule_leaves_no_trace(b: Backend) {
        let s = b.service();
        let p = visitor(&s, SINGLE);
        let before = events(&b, &p).len();
        let p2 = p.clone();
        // A write that appends an event, then fails: the event must not survive.
        let r = store::write(&*b.store, move |tx| {
            let mut fx = Effects::default();
            rules::append_event(tx, &p2.id, Event::Availability { online: true }, T0, &mut fx)?;
            Err::<((), Effects), _>(StoreError::Conflict)
        });
        assert_eq!(r.unwrap_err(), StoreError::Conflict);
        assert_eq!(events(&b, &p).len(), before);
        send(&s, SINGLE, &p, "a", "hi", None, false).unwrap();
        assert_eq!(events(&b, &p).iter().map(|(s, _)| *s).collect::<Vec<_>>(), vec![1, 2], "no gap from the failed write");
    }

    pub fn effects_published_after_commit_in_order(b: Backend) {
        let s = b.service();
        let p = visitor(&s, SINGLE);
        b.published.lock().unwrap().clear();
        send(&s, SINGLE, &p, "a", "one", None, false).unwrap();
        send(&s, SINGLE, &p, "b", "two", None, false).unwrap();
        send(&s, SINGLE, &p, "b", "two", None, false).unwrap(); // duplicate: nothing published
        let seqs: Vec<u64> = b.published.lock().unwrap().iter().flat_map(|fx| fx.visitor.iter().map(|v| v.seq)).collect();
        assert_eq!(seqs, vec![1, 2, 3]);
        let agent: usize = b.published.lock().unwrap().iter().map(|fx| fx.agent.len()).sum();
        assert_eq!(agent, 3, "thread_opened + two messages");
    }

    /// The visitor's write bucket lives in the store, so it holds whichever socket or node a
    /// request comes through: here every request is a separate transaction.
    pub fn visitor_writes_share_one_bucket(b: Backend) {
        let s = b.service();
        let p = visitor(&s, SINGLE);
        let other = visitor(&s, SINGLE);
        let limit = Some(RateLimit { per_sec: 2.0, burst: 3.0 });
        let dir = std::env::temp_dir();
        let send_at = |who: &Principal, req: &str, now: u64| {
            let mut r = s.prepare_send(widget(&s, SINGLE), who.id.clone(), req.into(), None, false, text(req), &dir, now).expect("valid");
            r.rate = limit;
            run(s.send(r)).map(|o| matches!(o, SendOutcome::Stored { .. }))
        };
        for n in 0..3 {
            assert_eq!(send_at(&p, &format!("r{n}"), T0), Ok(true), "the burst passes");
        }
        assert_eq!(send_at(&p, "r3", T0), Err(StoreError::RateLimited { retry_after_ms: 500 }));
        assert_eq!(send_at(&p, "r0", T0), Ok(false), "a resend of a stored request is answered, not charged");
        let mut c = s.prepare_context(widget(&s, SINGLE), p.id.clone(), "c1".into(), BTreeMap::from([("plan".to_string(), Json::from("gold"))]), MultiThreadStrategy::Active, T0 + 100).expect("valid");
        c.rate = limit;
        assert!(matches!(run(s.contextual_data(c)), Err(StoreError::RateLimited { retry_after_ms: 400 })), "contextual data draws on the same bucket");
        assert_eq!(send_at(&other, "o1", T0), Ok(true), "another visitor has a bucket of their own");
        assert_eq!(send_at(&p, "r3", T0 + 500), Ok(true), "one token after 1/rate");
        assert!(matches!(send_at(&p, "r4", T0 + 500), Err(StoreError::RateLimited { .. })));
        let stored: usize = events(&b, &p).iter().filter(|(_, e)| matches!(e, Event::Message { .. })).count();
        assert_eq!(stored, 4, "refused writes left nothing");
    }

    fn texts(page: &[livechat_protocol::Message]) -> Vec<String> {
        page.iter().map(|m| m.text.clone().unwrap_or_default()).collect()
    }

    pub fn history_pages_back_to_the_first_message(b: Backend) {
        let s = b.service();
        let p = visitor(&s, SINGLE);
        let (first, t, _) = send(&s, SINGLE, &p, "m0", "t0", None, false).unwrap();
        for i in 1..60 {
            s.agent_reply(&t, "Ann", &format!("t{i}"), T0).unwrap();
        }
        let all: Vec<String> = (0..60).map(|i| format!("t{i}")).collect();

        // The newest page (no `before`), capped at MAX_HISTORY_PAGE whatever is asked.
        let (newest, more) = s.history(&p.id, &t, None, 1000).unwrap();
        assert_eq!(texts(&newest), all[10..]);
        assert!(more);
        // Before its oldest: the rest, oldest first, and nothing older.
        let (rest, more) = s.history(&p.id, &t, Some(&newest[0].id), 50).unwrap();
        assert_eq!(texts(&rest), all[..10]);
        assert!(!more, "the first message is in the page");
        assert_eq!(rest[0].id, first);
        assert_eq!(rest[0].client_id.as_deref(), Some("m0"), "the visitor's view of its own message");
        // A page that ends exactly at the first message knows there is nothing older.
        let (exact, more) = s.history(&p.id, &t, Some(&rest[3].id), 3).unwrap();
        assert_eq!((texts(&exact), more), (all[..3].to_vec(), false));
        let (one, more) = s.history(&p.id, &t, Some(&rest[3].id), 0).unwrap();
        assert_eq!((texts(&one), more), (vec!["t2".to_string()], true), "limit 0 counts as 1");
        let (none, more) = s.history(&p.id, &t, Some(&first), 50).unwrap();
        assert!(none.is_empty() && !more);

        // Only the principal's own threads, and only a `before` of that thread.
        let other = visitor(&s, SINGLE);
        assert_eq!(s.history(&other.id, &t, None, 50).unwrap_err(), StoreError::UnknownThread);
        assert_eq!(s.history(&p.id, "no-such-thread", None, 50).unwrap_err(), StoreError::UnknownThread);
        assert_eq!(s.history(&p.id, &t, Some("no-such-message"), 50).unwrap_err(), StoreError::UnknownThread);
        let (elsewhere, t2, _) = send(&s, SINGLE, &other, "o0", "theirs", None, false).unwrap();
        assert_eq!(s.history(&p.id, &t, Some(&elsewhere), 50).unwrap_err(), StoreError::UnknownThread);
        assert_eq!(s.history(&p.id, &t2, Some(&elsewhere), 50).unwrap_err(), StoreError::UnknownThread);
        // After `auth` the threads are the customer's: the visitor principal reads nothing.
        let c = s.authenticate(auth_req(&p, SINGLE, "dora@example.com", "j-h", false)).unwrap();
        assert_eq!(texts(&s.history(&c.id, &t, None, 5).unwrap().0), all[55..]);
        assert_eq!(s.history(&p.id, &t, None, 5).unwrap_err(), StoreError::UnknownThread);
    }

    pub fn messages_before_rows(b: Backend) {
        let s = b.service();
        let p = visitor(&s, MULTI);
        let (m0, t, _) = send(&s, MULTI, &p, "a", "a", None, false).unwrap();
        let (m1, _, _) = send(&s, MULTI, &p, "b", "b", Some(&t), false).unwrap();
        let (m2, _, _) = send(&s, MULTI, &p, "c", "c", Some(&t), false).unwrap();
        let (x, u, _) = send(&s, MULTI, &p, "x", "other thread", None, true).unwrap();
        let ids = |v: Option<Vec<livechat_server::store::AgentMessage>>| v.map(|v| v.into_iter().map(|m| m.message.id).collect::<Vec<_>>());
        let (t1, t2) = (t.clone(), t.clone());
        let got = store::read(&*b.store, |tx| {
            Ok((
                ids(tx.messages_before(&t1, None, 2)?),
                ids(tx.messages_before(&t1, None, 10)?),
                ids(tx.messages_before(&t1, Some(&m2), 10)?),
                ids(tx.messages_before(&t1, Some(&m0), 10)?),
                ids(tx.messages_before(&t1, Some(&x), 10)?),
                ids(tx.messages_before(&u, Some(&x), 10)?),
                ids(tx.messages_before(&t2, Some("nope"), 10)?),
            ))
        })
        .unwrap();
        assert_eq!(got.0, Some(vec![m1.clone(), m2.clone()]), "the newest, oldest first");
        assert_eq!(got.1, Some(vec![m0.clone(), m1.clone(), m2.clone()]));
        assert_eq!(got.2, Some(vec![m0.clone(), m1]), "before excludes the message itself");
        assert_eq!(got.3, Some(vec![]));
        assert_eq!(got.4, None, "a message of another thread");
        assert_eq!(got.5, Some(vec![]));
        assert_eq!(got.6, None);
    }

    pub fn row_level_unique_keys(b: Backend) {
        let r = store::write(&*b.store, |tx| {
            let first = tx.insert_jti("w", "j", T0)?;
            let second = tx.insert_jti("w", "j", T0)?;
            let other_widget = tx.insert_jti("w2", "j", T0)?;
            Ok(((first, second, other_widget), Effects::default()))
        })
        .unwrap();
        assert_eq!(r, (true, false, true));
        // Purge forgets expired jtis: the id can be used again afterwards.
        store::write(&*b.store, |tx| Ok((tx.purge(T0 + 1, 0)?, Effects::default()))).unwrap();
        assert!(store::write(&*b.store, |tx| Ok((tx.insert_jti("w", "j", T0 + 100)?, Effects::default()))).unwrap());
        // A second idempotency key row for the same (principal, req) is refused.
        let s = b.service();
        let p = visitor(&s, SINGLE);
        let row = livechat_server::store::RequestRow { kind: "send".into(), body_hash: "h".into(), response: "{}".into() };
        let (pid, r2) = (p.id.clone(), row.clone());
        store::write(&*b.store, move |tx| Ok((tx.insert_request(&pid, "k", &r2, T0)?, Effects::default()))).unwrap();
        let pid = p.id.clone();
        assert!(store::write(&*b.store, move |tx| Ok((tx.insert_request(&pid, "k", &row, T0)?, Effects::default()))).is_err());
        // Session token hashes are unique.
        let t = s.open_session(widget(&s, SINGLE), None, T0).unwrap();
        let h = t.token_hash.clone();
        let dup = store::write(&*b.store, move |tx| Ok((rules::create_visitor(tx, SINGLE, &h, T0)?, Effects::default())));
        assert!(dup.is_err(), "a second session with the same token hash is refused");
    }
}

cases!(memory);
cases!(sqlite);
cases!(postgres);
