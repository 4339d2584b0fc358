//! Resuming sessions: replay after a gap, bad sessions, restarts.

mod common;
use common::*;
use serde_json::json;

#[tokio::test]
async fn resume_after_a_gap_replays_only_missed_events_in_order() {
    let s = TestServer::new().await;
    let (mut c, welcome, _) = s.visitor(SINGLE).await;
    let session = welcome["session"].as_str().unwrap().to_string();
    let ack = c.send_text("m1", "hi").await;
    let thread = ack["message"]["thread_id"].as_str().unwrap().to_string();
    let e1 = c.recv_event().await;
    let e2 = c.recv_event().await;
    assert_eq!((e1["seq"].as_u64(), e2["seq"].as_u64()), (Some(1), Some(2)));
    drop(c);

    // While the visitor is away, the agent replies twice.
    s.agent_reply(&thread, "first reply").await;
    s.agent_reply(&thread, "second reply").await;

    let mut c = s.client().await;
    let (w, sync) = c.hello(SINGLE, Some(&session), 2).await;
    assert_eq!(w["resumed"], true);
    assert_eq!(w["session"], session.as_str());
    assert!(sync.is_none());
    let r1 = c.recv().await;
    let r2 = c.recv().await;
    assert_eq!(r1["seq"], 3);
    assert_eq!(r1["event"]["message"]["text"], "first reply");
    assert_eq!(r1["event"]["message"]["author"], "agent");
    assert_eq!(r1["event"]["message"]["agent_name"], "Test agent");
    assert_eq!(r2["seq"], 4);
    assert_eq!(r2["event"]["message"]["text"], "second reply");
    c.expect_silence(200).await;

    // Live events continue the sequence.
    s.agent_reply(&thread, "live").await;
    let r3 = c.recv().await;
    assert_eq!(r3["seq"], 5);
    assert_eq!(r3["event"]["message"]["text"], "live");
}

#[tokio::test]
async fn resume_with_nothing_missed_replays_nothing() {
    let s = TestServer::new().await;
    let (mut c, welcome, _) = s.visitor(SINGLE).await;
    c.send_text("m1", "hi").await;
    drop(c);
    let mut c = s.client().await;
    let (w, _) = c.hello(SINGLE, welcome["session"].as_str(), 2).await;
    assert_eq!(w["resumed"], true);
    c.expect_silence(200).await;
}

#[tokio::test]
async fn bad_or_foreign_session_gets_a_new_visitor_and_sync() {
    let s = TestServer::new().await;
    let mut c = s.client().await;
    let (w, sync) = c.hello(SINGLE, Some("not-a-real-session"), 5).await;
    assert_eq!(w["resumed"], false);
    assert_ne!(w["session"], "not-a-real-session");
    assert_eq!(sync.unwrap()["last_seq"], 0);

    // A session of another widget is not valid here.
    let (_, w2, _) = s.visitor(MULTI).await;
    let mut c = s.client().await;
    let (w3, sync) = c.hello(SINGLE, w2["session"].as_str(), 0).await;
    assert_eq!(w3["resumed"], false);
    assert_ne!(w3["session"], w2["session"]);
    assert!(sync.is_some());
}

#[tokio::test]
async fn last_seq_ahead_of_server_gets_sync_with_full_state() {
    let s = TestServer::new().await;
    let (mut c, welcome, _) = s.visitor(SINGLE).await;
    let session = welcome["session"].as_str().unwrap().to_string();
    c.send_text("m1", "hi").await;
    drop(c);
    let mut c = s.client().await;
    let (w, sync) = c.hello(SINGLE, Some(&session), 99).await;
    assert_eq!(w["resumed"], false);
    assert_eq!(
        w["session"],
        session.as_str(),
        "same session, just not resumable"
    );
    let sync = sync.unwrap();
    assert_eq!(sync["last_seq"], 2);
    assert_eq!(sync["threads"][0]["messages"][0]["text"], "hi");
    // A valid session with last_seq 0 also gets a sync (the widget has nothing).
    let mut c = s.client().await;
    let (w, sync) = c.hello(SINGLE, Some(&session), 0).await;
    assert_eq!(w["resumed"], false);
    assert_eq!(sync.unwrap()["threads"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn restart_keeps_acked_messages_and_sequence() {
    let mut s = TestServer::new().await;
    let (mut c, welcome, _) = s.visitor(SINGLE).await;
    let session = welcome["session"].as_str().unwrap().to_string();
    let mut thread = String::new();
    for i in 0..5 {
        let ack = c.send_text(&format!("k{i}"), &format!("msg {i}")).await;
        assert_eq!(ack["type"], "ack");
        thread = ack["message"]["thread_id"].as_str().unwrap().to_string();
    }
    let first_ack = c.send_text("k0", "msg 0").await;
    s.restart().await;
    // The old socket is closed by the shutdown.
    c.until_closed().await;

    let mut c = s.client().await;
    let (w, sync) = c.hello(SINGLE, Some(&session), 6).await;
    assert_eq!(w["resumed"], true, "session survives restart");
    assert!(sync.is_none());
    // Idempotency survives restart too.
    assert_eq!(c.send_text("k0", "msg 0").await, first_ack);
    // New events continue after seq 6.
    s.agent_reply(&thread, "after restart").await;
    let e = c.recv_event().await;
    assert_eq!(e["seq"], 7);
    let msgs = s
        .agent_get(&format!("/v1/conversations/{thread}/messages"))
        .await
        .json();
    let texts: Vec<_> = msgs["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].clone())
        .collect();
    assert_eq!(
        texts,
        vec![
            json!("msg 0"),
            json!("msg 1"),
            json!("msg 2"),
            json!("msg 3"),
            json!("msg 4"),
            json!("after restart")
        ]
    );

    // A fresh socket asking from 0 gets a sync with everything.
    let mut c2 = s.client().await;
    let (_, sync) = c2.hello(SINGLE, Some(&session), 0).await;
    let sync = sync.unwrap();
    assert_eq!(sync["last_seq"], 7);
    assert_eq!(sync["threads"][0]["messages"].as_array().unwrap().len(), 6);
}

#[tokio::test]
async fn hello_rules() {
    let s = TestServer::new().await;
    // Wrong protocol version.
    let mut c = s.client().await;
    c.send(json!({"type": "hello", "protocol": 99, "widget_id": SINGLE}))
        .await;
    let frames = c.until_closed().await;
    assert_eq!(frames[0]["code"], "bad_hello");
    // Unknown widget.
    let mut c = s.client().await;
    c.send(json!({"type": "hello", "protocol": 1, "widget_id": "nope"}))
        .await;
    assert_eq!(c.until_closed().await[0]["code"], "unknown_widget");
    // A frame before hello.
    let mut c = s.client().await;
    c.send(json!({"type": "ping", "nonce": 1})).await;
    assert_eq!(c.until_closed().await[0]["code"], "bad_hello");
    // A second hello is refused but the socket stays.
    let (mut c, _, _) = s.visitor(SINGLE).await;
    c.send(json!({"type": "hello", "protocol": 1, "widget_id": SINGLE}))
        .await;
    assert_eq!(c.recv().await["code"], "bad_hello");
    c.send(json!({"type": "ping", "nonce": 7})).await;
    assert_eq!(c.recv().await["type"], "pong");
}
