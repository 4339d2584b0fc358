//! Origins, oversized and malformed frames, rate limiting; bad clients never affect others.

mod common;
use common::*;
use serde_json::json;

#[tokio::test]
async fn foreign_origin_is_refused_for_ws_and_config() {
    let s = TestServer::new().await;
    // Upgrade with an origin no widget allows.
    let err = Client::connect(s.addr, Some("http://evil.test")).await;
    assert!(err.is_err(), "upgrade must be refused");
    // Allowed for some widget (127.0.0.1:* for SINGLE) but not for MULTI → refused at hello.
    let mut c = Client::connect(s.addr, Some("http://127.0.0.1:5555"))
        .await
        .unwrap();
    c.send(json!({"type": "hello", "protocol": 1, "widget_id": MULTI}))
        .await;
    let frames = c.until_closed().await;
    assert_eq!(frames[0]["code"], "origin_not_allowed");
    // Same origin for SINGLE is fine.
    let mut c = Client::connect(s.addr, Some("http://127.0.0.1:5555"))
        .await
        .unwrap();
    let (w, _) = c.hello(SINGLE, None, 0).await;
    assert_eq!(w["type"], "welcome");

    // Config: foreign origin 403, allowed origin gets CORS, no origin allowed, unknown widget 404.
    let path = format!("/v1/widgets/{MULTI}/config");
    let r = s
        .http("GET", &path, &[("Origin", "http://evil.test")], None)
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(r.json()["code"], "origin_not_allowed");
    // The refusal is readable by that page (nothing in it is secret, and curl sees it
    // anyway), so the widget reports origin_not_allowed instead of a network error.
    assert_eq!(r.header("access-control-allow-origin"), Some("http://evil.test"));
    let r = s.http("GET", &path, &[("Origin", ORIGIN)], None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("access-control-allow-origin"), Some(ORIGIN));
    let cfg: livechat_protocol::WidgetConfig = serde_json::from_slice(&r.body).unwrap();
    assert!(cfg.multi_thread);
    assert_eq!(cfg.ws_path, "/v1/ws");
    let r = s.http("GET", &path, &[], None).await;
    assert_eq!(r.status, 200);
    let r = s.http("GET", "/v1/widgets/nope/config", &[], None).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["code"], "unknown_widget");
    let r = s
        .http(
            "OPTIONS",
            &path,
            &[("Origin", ORIGIN), ("Access-Control-Request-Method", "GET")],
            None,
        )
        .await;
    assert_eq!(r.status, 204);
    assert_eq!(r.header("access-control-allow-origin"), Some(ORIGIN));
}

#[tokio::test]
async fn malformed_frames_get_errors_and_the_server_keeps_serving() {
    let s = TestServer::new().await;
    let (mut bad, _, _) = s.visitor(SINGLE).await;
    let (mut good, _, _) = s.visitor(SINGLE).await;
    for junk in [
        "{",
        "null",
        "[]",
        r#"{"type":"nope"}"#,
        r#"{"type":"send","req":"x"}"#,
        "\u{0}\u{1}",
    ] {
        bad.send_raw(junk).await;
        let e = bad.recv().await;
        assert_eq!(e["type"], "error", "{junk}");
        assert_eq!(e["code"], "malformed_frame", "{junk}");
    }
    // A malformed frame that has a req gets it echoed.
    bad.send_raw(r#"{"type":"send","req":"x1","body":{"kind":"NOPE"}}"#)
        .await;
    assert_eq!(bad.recv().await["req"], "x1");
    bad.ws
        .send(tokio_tungstenite::tungstenite::Message::Binary(
            vec![1u8, 2, 3].into(),
        ))
        .await
        .unwrap();
    assert_eq!(bad.recv().await["code"], "malformed_frame");
    // Still open.
    bad.send(json!({"type": "ping", "nonce": 5})).await;
    assert_eq!(bad.recv().await, json!({"type": "pong", "nonce": 5}));
    // The other client is unaffected.
    assert_eq!(good.send_text("g", "fine").await["type"], "ack");
}

use futures::SinkExt;

#[tokio::test]
async fn oversized_frame_is_refused_and_closes_only_that_socket() {
    let s = TestServer::new().await;
    let (mut big, _, _) = s.visitor(SINGLE).await;
    let (mut other, _, _) = s.visitor(SINGLE).await;
    let huge = format!(
        r#"{{"type":"send","req":"h","body":{{"kind":"BASIC","text":"{}"}}}}"#,
        "x".repeat(2_200_000)
    );
    let _ = big
        .ws
        .send(tokio_tungstenite::tungstenite::Message::Text(huge.into()))
        .await;
    let frames = big.until_closed().await;
    assert_eq!(
        frames.last().map(|f| f["code"].clone()),
        Some(json!("frame_too_large")),
        "{frames:?}"
    );
    assert_eq!(other.send_text("o", "still here").await["type"], "ack");
}

#[tokio::test]
async fn floods_are_rate_limited_with_retry_time() {
    let s = TestServer::new().await;
    let (mut c, _, _) = s.visitor(SINGLE).await;
    let (mut calm, _, _) = s.visitor(SINGLE).await;
    for i in 0..60 {
        c.send(json!({"type": "ping", "nonce": i})).await;
    }
    let mut pongs = 0;
    let mut limited = None;
    for _ in 0..60 {
        let v = c.recv().await;
        match v["type"].as_str().unwrap() {
            "pong" => pongs += 1,
            "error" => {
                assert_eq!(v["code"], "rate_limited");
                limited.get_or_insert(v);
            }
            t => panic!("{t}"),
        }
    }
    assert!(
        (39..60).contains(&pongs),
        "burst of 40 (hello used one) then limited, got {pongs}"
    );
    let retry = limited.unwrap()["retry_after_ms"].as_u64().unwrap();
    assert!(retry > 0 && retry <= 1000, "{retry}");
    // The connection is kept; after waiting it works again.
    tokio::time::sleep(std::time::Duration::from_millis(retry + 100)).await;
    c.send(json!({"type": "ping", "nonce": 99})).await;
    assert_eq!(c.recv().await["nonce"], 99);
    // A limited send carries its req.
    for i in 0..45 {
        c.send(json!({"type": "ping", "nonce": i})).await;
    }
    c.send(json!({"type": "send", "req": "late", "body": {"kind": "BASIC", "text": "x"}}))
        .await;
    let e = c.recv_type_for("late").await;
    assert_eq!(e["code"], "rate_limited");
    // Other clients are not limited.
    assert_eq!(calm.send_text("c", "calm").await["type"], "ack");
}
