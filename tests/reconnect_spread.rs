//! Scenario 9 of issue 5: 200 clients dropped at once reconnect spread out by jitter.
//!
//! This runs natively against the core on the fake clock of tests/common (200 widgets, each
//! with its own random seed as the browser's `crypto.getRandomValues` would give it), which
//! also covers what would take minutes of real time (the spread after a long outage). The
//! same scenario runs in real Chromium against the real server, 200 widgets in iframes of
//! their own origins behind 200 fault proxies: tests/e2e/reliability_spread.test.mjs.
#![cfg(not(target_arch = "wasm32"))]
mod common;

use common::{FakeServer, Harness, MemoryStore, WIDGET};
use livechat_widget::core::connection::{BACKOFF_BASE_MS, BACKOFF_CAP_MS};
use livechat_widget::core::Widget;
use serde_json::json;

const CLIENTS: usize = 200;

/// splitmix64, for the clients' seeds.
fn seeds(mut x: u64) -> impl Iterator<Item = u64> {
    std::iter::from_fn(move || {
        x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Some(z ^ (z >> 31))
    })
}

fn connected_client(seed: u64) -> Harness {
    let mut h = Harness::with(MemoryStore::default(), FakeServer::new());
    h.widget = Widget::new(seed, vec!["en-US".into()]);
    h.call_ok("init", Some(json!(WIDGET)));
    assert!(h.widget.connected());
    h
}

fn histogram(times: &[u64], from: u64, width: u64, buckets: usize) -> Vec<usize> {
    let mut h = vec![0; buckets];
    for t in times {
        let i = ((t - from) / width) as usize;
        h[i.min(buckets - 1)] += 1;
    }
    h
}

#[test]
fn two_hundred_clients_dropped_at_once_spread_their_reconnects() {
    let mut clients: Vec<Harness> = seeds(2024).take(CLIENTS).map(connected_client).collect();
    let drop_at = clients[0].now;
    for h in &mut clients {
        assert_eq!(h.now, drop_at, "every client drops at the same instant");
        h.server.up = false;
        h.drop_connection();
    }

    // First retry: a uniform draw in [BASE/2, BASE] after the drop.
    let mut first = Vec::new();
    for h in &mut clients {
        let before = h.open_times.len();
        h.advance(BACKOFF_BASE_MS);
        assert_eq!(h.open_times.len(), before + 1, "exactly one retry within the first window");
        first.push(h.open_times[before] - drop_at);
    }
    first.sort_unstable();
    let (lo, hi) = (first[0], first[CLIENTS - 1]);
    assert!(lo >= BACKOFF_BASE_MS / 2 && hi <= BACKOFF_BASE_MS, "first retries within [{}, {}]: {lo}..{hi}", BACKOFF_BASE_MS / 2, BACKOFF_BASE_MS);
    assert!(hi - lo >= 200, "spread over most of the 250 ms window: {} ms", hi - lo);
    let mut distinct = first.clone();
    distinct.dedup();
    assert!(distinct.len() >= 120, "no herd on the same millisecond: {} distinct instants of {CLIENTS}", distinct.len());
    let hist = histogram(&first, BACKOFF_BASE_MS / 2, 25, 10);
    eprintln!("scenario 9: first retry (ms after the drop) per 25 ms bucket from 250 ms: {hist:?}");
    assert!(hist.iter().all(|&n| (5..=45).contains(&n)), "roughly uniform over the window (expected ~20 per bucket): {hist:?}");

    // The server stays down for 20 s: later retries keep spreading (window [d/2, d]).
    for h in &mut clients {
        h.advance(20_000 - BACKOFF_BASE_MS);
    }
    let attempts: Vec<usize> = clients.iter().map(|h| h.open_times.len()).collect();
    let gaps_ok = clients.iter().all(|h| {
        h.open_times.windows(2).skip(1).all(|w| w[1] - w[0] >= BACKOFF_BASE_MS / 2 && w[1] - w[0] <= BACKOFF_CAP_MS)
    });
    assert!(gaps_ok, "every gap within [0.25 s, 30 s]");
    let max_attempts = *attempts.iter().max().unwrap();
    assert!(max_attempts <= 10, "nobody retries in a tight loop (max {max_attempts} sockets in 20 s)");

    // The server comes back: the 200 reconnects arrive spread out, not in one burst.
    let up_at = drop_at + 20_000;
    for h in &mut clients {
        h.server.up = true;
    }
    let mut back = Vec::new();
    for h in &mut clients {
        h.advance(BACKOFF_CAP_MS);
        assert!(h.widget.connected(), "every client is back within the cap");
        let t = *h.open_times.last().unwrap();
        assert!(t >= up_at);
        back.push(t - up_at);
    }
    back.sort_unstable();
    let per_100ms = histogram(&back, 0, 100, 300);
    let worst = *per_100ms.iter().max().unwrap();
    let spread = back[CLIENTS - 1] - back[0];
    eprintln!(
        "scenario 9: after a 20 s outage, reconnects spread over {spread} ms; busiest 100 ms holds {worst} of {CLIENTS}"
    );
    assert!(spread >= 5_000, "recovery spread over seconds, not a thundering herd: {spread} ms");
    assert!(worst <= CLIENTS / 8, "at most 1/8 of the clients in any 100 ms: {worst}");
}
