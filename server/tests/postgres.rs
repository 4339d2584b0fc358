//! PostgreSQL across nodes: two store instances on one database (two server nodes) write
//! for the same principal at once. Sequence numbers stay gap-free and strictly ordered,
//! every message is stored once, and the database's keys make jtis, idempotency keys and
//! session tokens hold across both. Also: the server runs on `--store postgres://…`.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;

use livechat_protocol::{Customer, Event};
use livechat_server::service::{rules, AuthRequest, SendOutcome, SendRequest};
use livechat_server::store::postgres::PostgresStore;
use livechat_server::store::{self as store, Effects, NewContent, Principal, Store, StoreError};

const WIDGET: &str = common::SINGLE;
const T0: u64 = 1_790_000_000_000;

fn two_nodes() -> (Arc<PostgresStore>, Arc<PostgresStore>) {
    let url = common::pg::shared().fresh_database();
    let a = PostgresStore::open(&url).expect("node a");
    let b = PostgresStore::open(&url).expect("node b");
    (Arc::new(a), Arc::new(b))
}

fn send_req(principal: &str, req: &str, text: &str) -> SendRequest {
    SendRequest {
        widget_id: WIDGET.into(),
        principal_id: principal.into(),
        req: req.into(),
        body_hash: format!("hash:{text}"),
        thread_id: None,
        new_thread: false,
        content: NewContent { text: Some(text.into()), ..Default::default() },
        rate: None,
        now: T0,
    }
}

fn visitor(s: &dyn Store, token: &str) -> Principal {
    let token = token.to_string();
    store::write(s, move |tx| Ok((rules::create_visitor(tx, WIDGET, &token, T0)?, Effects::default()))).expect("visitor")
}

fn submit(s: &dyn Store, req: SendRequest) -> std::sync::mpsc::Receiver<Result<SendOutcome, StoreError>> {
    let (tx, rx) = std::sync::mpsc::channel();
    store::submit(s, move |t| rules::send(t, &req), Box::new(move |r| {
        let _ = tx.send(r);
    }));
    rx
}

fn message_id(o: &Result<SendOutcome, StoreError>) -> String {
    match o {
        Ok(SendOutcome::Stored { message, .. }) | Ok(SendOutcome::Duplicate { message }) => message.id.clone(),
        Err(e) => panic!("send failed: {e}"),
    }
}

#[test]
fn two_nodes_writing_for_one_principal_keep_the_sequence_gap_free() {
    let (a, b) = two_nodes();
    let p = visitor(&*a, "tok");
    let per = 60;
    // Both nodes queue sends for the same visitor at once (two tabs on two nodes), and
    // every message is sent to both nodes (a retry that landed elsewhere).
    let mut pending = Vec::new();
    for i in 0..per {
        for (n, node) in [(0, &a), (1, &b)] {
            let req = send_req(&p.id, &format!("{n}-{i}"), &format!("text {n} {i}"));
            pending.push((format!("{n}-{i}"), submit(&**node, req.clone())));
            let other = if n == 0 { &b } else { &a };
            pending.push((format!("{n}-{i}"), submit(&**other, req)));
        }
    }
    let mut ids = std::collections::BTreeMap::new();
    let mut stored = 0;
    for (req, rx) in &pending {
        let o = rx.recv().expect("answer");
        if matches!(o, Ok(SendOutcome::Stored { .. })) {
            stored += 1;
        }
        let id = message_id(&o);
        if let Some(prev) = ids.insert(req.clone(), id.clone()) {
            assert_eq!(prev, id, "both nodes answer {req} with the same message");
        }
    }
    assert_eq!(stored, 2 * per, "each request stored exactly once");
    for node in [&a, &b] {
        let (events, head) = store::read(&**node, |tx| Ok((tx.events_after(&p.id, 0)?, tx.head(&p.id)?))).unwrap();
        let seqs: Vec<u64> = events.iter().map(|(s, _)| *s).collect();
        assert_eq!(seqs, (1..=head).collect::<Vec<_>>(), "gap-free, strictly increasing");
        let clients: Vec<String> = events
            .iter()
            .filter_map(|(_, e)| match e {
                Event::Message { message } => message.client_id.clone(),
                _ => None,
            })
            .collect();
        assert_eq!(clients.len(), 2 * per, "one message event per request");
        assert_eq!(clients.iter().collect::<BTreeSet<_>>().len(), 2 * per, "no duplicates");
        // Per node, its own requests keep their order in the one stream.
        for n in 0..2 {
            let mine: Vec<&String> = clients.iter().filter(|c| c.starts_with(&format!("{n}-"))).collect();
            let want: Vec<String> = (0..per).map(|i| format!("{n}-{i}")).collect();
            assert_eq!(mine.iter().map(|s| s.as_str()).collect::<Vec<_>>(), want.iter().map(|s| s.as_str()).collect::<Vec<_>>());
        }
        // Message times follow the stream order too.
        let times: Vec<u64> = events
            .iter()
            .filter_map(|(_, e)| match e {
                Event::Message { message } => Some(message.created_at),
                _ => None,
            })
            .collect();
        assert!(times.windows(2).all(|w| w[0] < w[1]), "times strictly increase");
    }
}

fn auth(from: &Principal, jti: &str, token: &str) -> AuthRequest {
    AuthRequest {
        widget_id: WIDGET.into(),
        multi_thread: false,
        from: from.clone(),
        old_token_hash: None,
        new_token_hash: token.into(),
        customer: Customer { subject: "dana@example.com".into(), subject_type: "email".into() },
        jti: jti.into(),
        jti_exp_ms: T0 + 60_000,
        auth_expires_ms: None,
        recent_messages: 10,
        now: T0,
    }
}

#[test]
fn jti_idempotency_and_sessions_hold_across_nodes() {
    let (a, b) = two_nodes();
    let va = visitor(&*a, "ta");
    let vb = visitor(&*b, "tb");
    // The same jti on both nodes at once: exactly one wins.
    let (ra, rb) = (auth(&va, "shared-jti", "sa"), auth(&vb, "shared-jti", "sb"));
    let (a2, b2) = (a.clone(), b.clone());
    let ta = std::thread::spawn(move || store::write(&*a2, move |tx| rules::authenticate(tx, &ra)));
    let tb = std::thread::spawn(move || store::write(&*b2, move |tx| rules::authenticate(tx, &rb)));
    let results = [ta.join().unwrap(), tb.join().unwrap()];
    let ok = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(ok, 1, "{results:?}");
    assert!(results.iter().any(|r| matches!(r, Err(StoreError::JtiReplayed))), "{results:?}");
    // A replay against the other node later is refused as well.
    let again = auth(&vb, "shared-jti", "sc");
    assert_eq!(store::write(&*b, move |tx| rules::authenticate(tx, &again)).unwrap_err(), StoreError::JtiReplayed);
    // A session token hash exists once across nodes.
    let dup = store::write(&*b, |tx| Ok((rules::create_visitor(tx, WIDGET, "ta", T0)?, Effects::default())));
    assert!(dup.is_err(), "the token hash of node a's session is taken on node b");
    // Same idempotency key with another body on the other node: a conflict.
    let first = send_req(&va.id, "k", "one");
    message_id(&submit(&*a, first).recv().unwrap());
    assert_eq!(submit(&*b, send_req(&va.id, "k", "two")).recv().unwrap().err(), Some(StoreError::Conflict));
}

/// `n` server nodes on one fresh database (`--store postgres://…`, so a cluster), each
/// healthy; the temp dir is their shared attachments dir.
async fn start_nodes(n: usize, limits: impl Fn(&mut livechat_server::config::Limits)) -> (Vec<livechat_server::RunningServer>, tempfile::TempDir) {
    let url = common::pg::shared().fresh_database();
    let files = tempfile::tempdir().unwrap();
    let mut nodes = Vec::new();
    for _ in 0..n {
        let mut config = livechat_server::config::Config::from_toml_str(&common::config_toml("")).unwrap();
        limits(&mut config.limits);
        let s = livechat_server::start(livechat_server::ServerOptions {
            config,
            data_dir: files.path().to_path_buf(),
            store: livechat_server::StoreSpec::Postgres(url.clone()),
            addr: "127.0.0.1:0".parse().unwrap(),
            static_dir: None,
            cluster: Some(url.clone()),
        })
        .await
        .expect("node starts on postgres");
        ready(s.addr).await;
        nodes.push(s);
    }
    (nodes, files)
}

/// Waits until a node's `/healthz` is 200: its cluster bus listens (before that it refuses
/// sockets, as a balancer would see).
async fn ready(addr: std::net::SocketAddr) {
    let start = std::time::Instant::now();
    while common::http(addr, "GET", "/healthz", &[], None).await.status != 200 {
        assert!(start.elapsed() < std::time::Duration::from_secs(20), "node {addr} not healthy in 20 s");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Two server nodes on one database (`--store postgres://…`): a visitor's session made on
/// node A resumes on node B, which sees A's messages and continues the same sequence.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_one_database_share_sessions_and_history() {
    let (nodes, _files) = start_nodes(2, |_| {}).await;
    let mut a = common::Client::connect(nodes[0].addr, Some(common::ORIGIN)).await.unwrap();
    let (welcome, _) = a.hello(common::SINGLE, None, 0).await;
    let session = welcome["session"].as_str().unwrap().to_string();
    let ack = a.send_text("r1", "from node a").await;
    assert_eq!(ack["type"], "ack", "{ack}");
    let thread = ack["message"]["thread_id"].as_str().unwrap().to_string();
    let mut b = common::Client::connect(nodes[1].addr, Some(common::ORIGIN)).await.unwrap();
    let (welcome_b, sync) = b.hello(common::SINGLE, Some(&session), 0).await;
    assert_eq!(welcome_b["session"], session.as_str(), "the session made on node a is valid on b");
    let sync = sync.expect("last_seq 0: a sync");
    assert_eq!(sync["last_seq"], 2);
    assert_eq!(sync["threads"][0]["messages"][0]["text"], "from node a");
    // The same req sent to node b is the same message (idempotency across nodes).
    let again = b.send_text("r1", "from node a").await;
    assert_eq!(again["message"]["id"], ack["message"]["id"]);
    let next = b.send_text("r2", "from node b").await;
    assert_eq!(next["message"]["thread_id"], thread.as_str(), "same active thread");
    let ev = b.recv_event().await;
    assert_eq!(ev["seq"], 3, "node b continues the principal's sequence: {ev}");
    // Node a's socket hears of node b's commit (notified inside b's transaction).
    let seen = loop {
        let e = a.recv_event().await;
        if e["seq"] == 3 {
            break e;
        }
        assert!(e["seq"].as_u64() < Some(3), "in order, nothing skipped: {e}");
    };
    assert_eq!(seen["event"]["message"]["text"], "from node b", "{seen}");
    for n in nodes {
        n.shutdown().await;
    }
}

/// The visitor's write limit holds across nodes: two sockets of one visitor, on two nodes,
/// each well under its own socket's limit, together get only the visitor's burst (plus the
/// refill) through; the rest is answered `rate_limited` with a `retry_after_ms`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitors_write_limit_holds_across_nodes() {
    let (nodes, _files) = start_nodes(2, |limits| {
        limits.visitor_rate_limit_per_sec = 2.0;
        limits.visitor_rate_limit_burst = 10.0;
    })
    .await;
    let mut a = common::Client::connect(nodes[0].addr, Some(common::ORIGIN)).await.unwrap();
    let (welcome, _) = a.hello(common::SINGLE, None, 0).await;
    let session = welcome["session"].as_str().unwrap().to_string();
    let mut b = common::Client::connect(nodes[1].addr, Some(common::ORIGIN)).await.unwrap();
    b.hello(common::SINGLE, Some(&session), 0).await;
    // 15 sends on each socket: under the socket limit (burst 40), over the visitor's (10).
    let start = std::time::Instant::now();
    for i in 0..15 {
        for (c, node) in [(&mut a, "a"), (&mut b, "b")] {
            c.send(serde_json::json!({"type": "send", "req": format!("{node}{i}"), "body": {"kind": "BASIC", "text": format!("{node} {i}")}})).await;
        }
    }
    let (mut acked, mut limited) = (0, 0);
    for c in [&mut a, &mut b] {
        let mut answered = 0;
        while answered < 15 {
            let v = c.try_recv(std::time::Duration::from_secs(20)).await.expect("every send answered");
            match v["type"].as_str() {
                Some("ack") => acked += 1,
                Some("error") => {
                    assert_eq!(v["code"], "rate_limited", "{v}");
                    assert!(v["retry_after_ms"].as_u64().is_some_and(|r| r > 0 && r <= 500), "{v}");
                    limited += 1;
                }
                _ => continue,
            }
            answered += 1;
        }
    }
    let most = 10 + (2.0 * start.elapsed().as_secs_f64()).ceil() as usize;
    println!("visitor on two nodes: 30 sends, {acked} stored, {limited} rate_limited (at most {most} may pass)");
    assert!(acked >= 10 && acked <= most, "{acked} stored; the visitor's burst is 10 (+2/s)");
    assert_eq!(acked + limited, 30);
    for n in nodes {
        n.shutdown().await;
    }
}
