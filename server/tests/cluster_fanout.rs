//! Cross-node fan-out (`livechat_server::cluster`) over a real, throwaway PostgreSQL: two
//! "nodes" (two hubs, two cluster buses) share one store; events committed through node A
//! reach a socket registered on node B in sequence order, with no gap and nothing twice —
//! also across a PostgreSQL restart, when node A's notifications could not go out.
//!
//! Needs PostgreSQL's binaries (`scripts/setup.sh` installs them); each test starts its own
//! cluster (`common::pg::PgCluster`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use livechat_server::cluster::{Cluster, StoreSource};
use livechat_server::hub::{Hub, Outbound};
use livechat_server::store::sqlite::SqliteStore;
use livechat_server::service::{rules, SendOutcome, SendRequest};
use livechat_server::store::{self as lstore, Effects, NewContent, Store};
use tokio::sync::{mpsc, watch};

mod common;
use common::pg::PgCluster;

const WIDGET: &str = "w1";

struct Node {
    hub: Arc<Hub>,
    cluster: Arc<Cluster>,
}

fn node(url: &str, store: &Arc<dyn Store>, shutdown: &watch::Receiver<bool>) -> Node {
    let hub = Arc::new(Hub::default());
    let cluster = Cluster::start(url, Arc::new(StoreSource(store.clone())), hub.clone(), shutdown.clone());
    let c = cluster.clone();
    hub.set_register_hook(Arc::new(move |p: &str| c.on_register(p)));
    Node { hub, cluster }
}

async fn wait_until(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn send(store: &Arc<dyn Store>, principal: &str, n: usize) {
    let req = SendRequest {
            widget_id: WIDGET.into(),
            principal_id: principal.into(),
            req: format!("r{n}"),
            body_hash: format!("h{n}"),
            thread_id: None,
            new_thread: false,
            content: NewContent { text: Some(format!("message {n}")), ..Default::default() },
            rate: None,
            now: 1_700_000_000_000 + n as u64,
        };
    let out = lstore::write(&**store, move |tx| rules::send(tx, &req)).expect("send");
    assert!(matches!(out, SendOutcome::Stored { .. }));
}

/// What a socket would keep: drops what it has, and fails on a gap.
fn check_stream(received: &[u64], expect_top: u64) -> (usize, usize) {
    let mut last = 0;
    let mut dupes = 0;
    for &s in received {
        if s <= last {
            dupes += 1;
            continue;
        }
        assert_eq!(s, last + 1, "gap in the stream after seq {last}: {received:?}");
        last = s;
    }
    assert_eq!(last, expect_top, "stream ends at {last}, expected {expect_top}: {received:?}");
    (received.len(), dupes)
}

async fn drain(rx: &mut mpsc::Receiver<Outbound>, into: &mut Vec<u64>) {
    while let Ok(o) = rx.try_recv() {
        into.push(o.seq);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_from_node_a_reach_node_b_in_order_across_a_database_restart() {
    let pg = PgCluster::start();
    let url = pg.url("postgres");
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path()).unwrap());
    let (_stop_tx, stop) = watch::channel(false);
    let a = node(&url, &store, &stop);
    let b = node(&url, &store, &stop);
    // The store publishes node A's commits.
    let ca = a.cluster.clone();
    store.set_publisher(Arc::new(move |fx: &Effects| ca.publish(fx)));
    wait_until("both buses ready", Duration::from_secs(20), || a.cluster.ready() && b.cluster.ready()).await;
    assert!(a.cluster.is_leader() != b.cluster.is_leader(), "exactly one node holds the leader lock");

    let principal = lstore::write(&*store, |tx| Ok((rules::create_visitor(tx, WIDGET, "token-hash-1", 1)?, Effects::default()))).unwrap().id;
    // A socket on node B and one on node A.
    let (tx_b, mut rx_b) = mpsc::channel(4096);
    let (tx_a, mut rx_a) = mpsc::channel(4096);
    {
        let (hb, ha, p) = (b.hub.clone(), a.hub.clone(), principal.clone());
        tokio::task::spawn_blocking(move || {
            hb.register(1, &p, WIDGET, tx_b);
            ha.register(2, &p, WIDGET, tx_a);
        })
        .await
        .unwrap();
    }
    let mut agent_b = b.hub.subscribe_agent();
    let mut agent_a = a.hub.subscribe_agent();

    // 1) 30 messages committed "on node A" (first one also opens the thread: 31 events).
    {
        let (s, p) = (store.clone(), principal.clone());
        tokio::task::spawn_blocking(move || (0..30).for_each(|n| send(&s, &p, n))).await.unwrap();
    }
    let (mut got_b, mut got_a) = (Vec::new(), Vec::new());
    let top = lstore::read(&*store, |tx| tx.head(&principal)).unwrap();
    assert_eq!(top, 31);
    let start = Instant::now();
    while got_b.iter().max() != Some(&top) || got_a.iter().max() != Some(&top) {
        assert!(start.elapsed() < Duration::from_secs(20), "node B got {got_b:?}");
        drain(&mut rx_b, &mut got_b).await;
        drain(&mut rx_a, &mut got_a).await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (_, dupes_b) = check_stream(&got_b, top);
    let (_, dupes_a) = check_stream(&got_a, top);
    assert_eq!(dupes_a, 0, "the local socket gets each event once");
    println!("node B: {} frames for {top} events ({dupes_b} overlaps dropped)", got_b.len());

    // Agent events: each node's agent stream has every message once (A locally, B via the bus).
    let count_messages = |rx: &mut tokio::sync::broadcast::Receiver<axum::extract::ws::Utf8Bytes>| {
        let mut n = 0;
        while let Ok(t) = rx.try_recv() {
            if t.as_str().contains("\"type\":\"message\"") {
                n += 1;
            }
        }
        n
    };
    let start = Instant::now();
    let (mut am_a, mut am_b) = (0, 0);
    while am_b < 30 {
        assert!(start.elapsed() < Duration::from_secs(10), "agent stream on B got {am_b} of 30");
        am_a += count_messages(&mut agent_a);
        am_b += count_messages(&mut agent_b);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    am_a += count_messages(&mut agent_a);
    am_b += count_messages(&mut agent_b);
    assert_eq!((am_a, am_b), (30, 30), "each agent stream has every message exactly once");

    // 2) PostgreSQL goes away; node A commits 10 more (its notifications cannot go out).
    pg.stop();
    wait_until("both nodes notice", Duration::from_secs(20), || !a.cluster.ready() && !b.cluster.ready()).await;
    {
        let (s, p) = (store.clone(), principal.clone());
        tokio::task::spawn_blocking(move || (30..40).for_each(|n| send(&s, &p, n))).await.unwrap();
    }
    pg.restart();
    wait_until("both buses back", Duration::from_secs(30), || a.cluster.ready() && b.cluster.ready()).await;
    // 3) and 10 more after it is back.
    {
        let (s, p) = (store.clone(), principal.clone());
        tokio::task::spawn_blocking(move || (40..50).for_each(|n| send(&s, &p, n))).await.unwrap();
    }
    let top = lstore::read(&*store, |tx| tx.head(&principal)).unwrap();
    assert_eq!(top, 51);
    let start = Instant::now();
    while got_b.iter().max() != Some(&top) {
        assert!(start.elapsed() < Duration::from_secs(20), "node B got {got_b:?}");
        drain(&mut rx_b, &mut got_b).await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    drain(&mut rx_b, &mut got_b).await;
    let (frames, dupes) = check_stream(&got_b, top);
    println!("after the restart: node B {frames} frames for {top} events, lost=0 duplicated=0 ({dupes} overlaps dropped by the socket)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_and_leadership_cross_nodes() {
    let pg = PgCluster::start();
    let url = pg.url("postgres");
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path()).unwrap());
    let (stop_a_tx, stop_a) = watch::channel(false);
    let (_stop_b_tx, stop_b) = watch::channel(false);
    // A joins first and takes the leader lock; B finds it taken.
    let a = node(&url, &store, &stop_a);
    wait_until("A ready", Duration::from_secs(20), || a.cluster.ready()).await;
    let b = node(&url, &store, &stop_b);
    wait_until("B ready", Duration::from_secs(20), || b.cluster.ready()).await;
    assert!(a.cluster.is_leader() && !b.cluster.is_leader(), "the first node leads, only it");
    let flips = Arc::new(std::sync::Mutex::new(Vec::new()));
    let f = flips.clone();
    b.cluster.set_on_presence(Arc::new(move |online| f.lock().unwrap().push(online)));
    assert!(!b.cluster.agents_online());

    a.cluster.agent_delta(true);
    wait_until("B sees A's agent", Duration::from_secs(10), || b.cluster.agents_online()).await;
    wait_until("B's presence hook ran", Duration::from_secs(10), || *flips.lock().unwrap() == vec![true]).await;
    a.cluster.agent_delta(false);
    wait_until("B sees the agent leave", Duration::from_secs(10), || !b.cluster.agents_online()).await;
    wait_until("B's presence hook ran again", Duration::from_secs(10), || *flips.lock().unwrap() == vec![true, false]).await;

    // A node that dies with an agent online stops counting after PRESENCE_TTL.
    a.cluster.agent_delta(true);
    wait_until("B sees A's agent again", Duration::from_secs(10), || b.cluster.agents_online()).await;
    let _ = stop_a_tx.send(true);
    wait_until("A's agent expires", Duration::from_secs(15), || !b.cluster.agents_online()).await;
    // A's bus closed: its session lock is gone, so B leads now.
    wait_until("B leads", Duration::from_secs(15), || b.cluster.is_leader()).await;
}
