//! Group commit in the SQLite store: many mutations share one transaction and one fsync,
//! yet each is acknowledged only once durable, exactly once, and independently of its
//! neighbours in the batch.
//!
//! Jobs queued with `submit_*` while the writer is busy committing land in the same batch:
//! the tests queue a first send, then the interesting ones right behind it without waiting,
//! so those are applied together in the writer's next batch.

use std::collections::BTreeSet;
use std::sync::mpsc;
use std::sync::Arc;

use livechat_protocol::Event;
use livechat_server::service::{rules, SendOutcome, SendRequest};
use livechat_server::store::sqlite::SqliteStore;
use livechat_server::store::{self as store, Effects, NewContent, StoreError, StoreResult};

const WIDGET: &str = "85ea1938-f457-496d-8532-8fa489beea63";

fn send_req(principal: &str, req: &str, text: &str) -> SendRequest {
    SendRequest {
        widget_id: WIDGET.into(),
        principal_id: principal.into(),
        req: req.into(),
        body_hash: format!("hash:{text}"),
        thread_id: None,
        new_thread: false,
        content: NewContent {
            text: Some(text.into()),
            ..Default::default()
        },
        rate: None,
        now: 1_790_000_000_000,
    }
}

fn visitor(store: &SqliteStore, n: usize) -> String {
    let token = format!("token-{n}");
    store::write(store, move |tx| {
        Ok((rules::create_visitor(tx, WIDGET, &token, 1_790_000_000_000)?, Effects::default()))
    })
    .expect("create visitor")
    .id
}

/// Submits without waiting; the receiver yields the outcome once durable.
fn submit(store: &SqliteStore, req: SendRequest) -> mpsc::Receiver<StoreResult<SendOutcome>> {
    let (tx, rx) = mpsc::channel();
    store::submit(
        store,
        move |tx| rules::send(tx, &req),
        Box::new(move |r| {
            let _ = tx.send(r);
        }),
    );
    rx
}

fn message_id(o: &StoreResult<SendOutcome>) -> String {
    match o {
        Ok(SendOutcome::Stored { message, .. }) | Ok(SendOutcome::Duplicate { message }) => {
            message.id.clone()
        }
        Err(e) => panic!("send failed: {e}"),
    }
}

/// The visitor's stored message events: (seq, client id), and checks seqs are 1..=head.
fn stored_messages(store: &SqliteStore, principal: &str) -> Vec<(u64, String)> {
    let (events, head) =
        store::read(store, |tx| Ok((tx.events_after(principal, 0)?, tx.head(principal)?))).expect("events");
    let seqs: Vec<u64> = events.iter().map(|(s, _)| *s).collect();
    assert_eq!(
        seqs,
        (1..=head).collect::<Vec<_>>(),
        "sequence must be gap-free"
    );
    events
        .into_iter()
        .filter_map(|(seq, e)| match e {
            Event::Message { message } => Some((seq, message.client_id.unwrap_or_default())),
            _ => None,
        })
        .collect()
}

#[test]
fn many_concurrent_sends_are_acked_and_stored_exactly_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(SqliteStore::open(dir.path()).expect("open"));
    let principals: Vec<String> = (0..16).map(|i| visitor(&store, i)).collect();
    let per = 40;
    let threads: Vec<_> = principals
        .iter()
        .cloned()
        .map(|p| {
            let store = store.clone();
            std::thread::spawn(move || {
                // Every message is sent twice (a client retry): both get the same ack.
                let pending: Vec<_> = (0..per)
                    .flat_map(|i| {
                        let r = format!("m{i}");
                        let text = format!("text {i}");
                        [
                            submit(&store, send_req(&p, &r, &text)),
                            submit(&store, send_req(&p, &r, &text)),
                        ]
                    })
                    .collect();
                let ids: Vec<String> = pending
                    .iter()
                    .map(|rx| message_id(&rx.recv().expect("answer")))
                    .collect();
                for pair in ids.chunks(2) {
                    assert_eq!(pair[0], pair[1], "a resend must get the same ack");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("sender thread");
    }
    for p in &principals {
        let msgs = stored_messages(&store, p);
        let ids: BTreeSet<_> = msgs.iter().map(|(_, c)| c.clone()).collect();
        assert_eq!(ids.len(), per, "each client id stored once");
        assert_eq!(msgs.len(), per, "one message event per client id");
        // Per-visitor order is submission order.
        let order: Vec<_> = msgs.iter().map(|(_, c)| c.clone()).collect();
        assert_eq!(order, (0..per).map(|i| format!("m{i}")).collect::<Vec<_>>());
    }
}

#[test]
fn duplicate_ids_within_one_batch() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(dir.path()).expect("open");
    let p = visitor(&store, 0);
    let first = submit(&store, send_req(&p, "warm-up", "hi"));
    let same: Vec<_> = (0..20)
        .map(|_| submit(&store, send_req(&p, "dup", "hello")))
        .collect();
    let conflict = submit(&store, send_req(&p, "dup", "a different body"));
    message_id(&first.recv().expect("answer"));
    let outcomes: Vec<_> = same.iter().map(|rx| rx.recv().expect("answer")).collect();
    let stored = outcomes
        .iter()
        .filter(|o| matches!(o, Ok(SendOutcome::Stored { .. })))
        .count();
    assert_eq!(stored, 1, "exactly one of the copies stores the message");
    let ids: BTreeSet<_> = outcomes.iter().map(message_id).collect();
    assert_eq!(ids.len(), 1, "every copy gets the same ack");
    assert_eq!(
        conflict.recv().expect("answer").err(),
        Some(StoreError::Conflict)
    );
    let msgs = stored_messages(&store, &p);
    assert_eq!(
        msgs.iter().map(|(_, c)| c.as_str()).collect::<Vec<_>>(),
        ["warm-up", "dup"]
    );
}

#[test]
fn a_failing_op_does_not_affect_its_neighbours() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(dir.path()).expect("open");
    let p = visitor(&store, 0);
    let other = visitor(&store, 1);
    // Stores the conflicting id first, in its own batch.
    message_id(
        &submit(&store, send_req(&p, "taken", "original"))
            .recv()
            .expect("answer"),
    );
    let warm = submit(&store, send_req(&other, "w", "warm-up"));
    let before = submit(&store, send_req(&p, "a", "before"));
    let mut bad = send_req(&p, "b", "to a thread that does not exist");
    bad.thread_id = Some("no-such-thread".into());
    let unknown = submit(&store, bad);
    let conflict = submit(&store, send_req(&p, "taken", "changed body"));
    let after = submit(&store, send_req(&p, "c", "after"));
    message_id(&warm.recv().expect("answer"));
    message_id(&before.recv().expect("answer"));
    assert_eq!(
        unknown.recv().expect("answer").err(),
        Some(StoreError::UnknownThread)
    );
    assert_eq!(
        conflict.recv().expect("answer").err(),
        Some(StoreError::Conflict)
    );
    message_id(&after.recv().expect("answer"));
    let msgs = stored_messages(&store, &p);
    assert_eq!(
        msgs.iter().map(|(_, c)| c.as_str()).collect::<Vec<_>>(),
        ["taken", "a", "c"]
    );
}

/// Copies the database files as they are on disk now, while the store is still running:
/// what a restart after a crash (kill -9) would find.
fn crash_copy(from: &std::path::Path, to: &std::path::Path) {
    for name in ["livechat.sqlite3", "livechat.sqlite3-wal"] {
        let src = from.join(name);
        if src.exists() {
            std::fs::copy(&src, to.join(name)).expect("copy database file");
        }
    }
}

#[test]
fn restart_after_acks_loses_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let crashed = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(dir.path()).expect("open");
    let p = visitor(&store, 0);
    let pending: Vec<_> = (0..100)
        .map(|i| submit(&store, send_req(&p, &format!("r{i}"), "x")))
        .collect();
    let acked: Vec<String> = pending
        .iter()
        .map(|rx| message_id(&rx.recv().expect("answer")))
        .collect();
    // No clean shutdown: the running store's files are copied as they are after the acks.
    crash_copy(dir.path(), crashed.path());
    let restarted = SqliteStore::open(crashed.path()).expect("reopen");
    let msgs = stored_messages(&restarted, &p);
    assert_eq!(msgs.len(), acked.len());
    for (i, id) in acked.iter().enumerate() {
        // A resend after the restart is a duplicate with the same message.
        let req = send_req(&p, &format!("r{i}"), "x");
        match store::write(&restarted, move |tx| rules::send(tx, &req)) {
            Ok(SendOutcome::Duplicate { message }) => assert_eq!(&message.id, id),
            other => panic!("expected the stored message, got {other:?}"),
        }
    }
    drop(store);
}
