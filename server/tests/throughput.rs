//! Throughput benchmark (ignored by default): 50 sockets × 200 durable messages.
//! `cargo test --release -p livechat-server --test throughput -- --ignored --nocapture`

mod common;
use common::*;
use futures::{SinkExt, StreamExt};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn durable_messages_per_second() {
    let s = TestServer::with_config(
        &config_toml("")
            .replace(
                "rate_limit_per_sec = 20.0",
                "rate_limit_per_sec = 1000000.0",
            )
            .replace("rate_limit_burst = 40.0", "rate_limit_burst = 1000000.0"),
    )
    .await;
    let n_clients = 50;
    let per = 200;
    let t0 = std::time::Instant::now();
    let mut hs = vec![];
    for _ in 0..n_clients {
        let (c, _, _) = s.visitor(SINGLE).await;
        hs.push(tokio::spawn(async move {
            let c = c;
            let (mut tx, mut rx) = c.ws.split();
            let w = tokio::spawn(async move { for i in 0..per { tx.send(tokio_tungstenite::tungstenite::Message::Text(json!({"type":"send","req":format!("r{i}"),"body":{"kind":"BASIC","text":"hello"}}).to_string().into())).await.unwrap(); } tx });
            let mut acks = 0;
            while acks < per { let m = rx.next().await.unwrap().unwrap(); if m.to_text().unwrap().contains("\"ack\"") { acks += 1; } }
            let _sink = w.await.unwrap();
        }));
    }
    for h in hs {
        h.await.unwrap();
    }
    let el = t0.elapsed();
    eprintln!(
        "{} msgs in {:?} = {:.0}/s",
        n_clients * per,
        el,
        (n_clients * per) as f64 / el.as_secs_f64()
    );
}
