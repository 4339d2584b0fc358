//! Contextual data (spec 000): strategies, queueing before a conversation, Get Metadata.

mod common;
use common::*;
use serde_json::{json, Value};

async fn context(c: &mut Client, req: &str, metadata: Value, strategy: Option<&str>) -> Value {
    let mut f = json!({"type": "contextual_data", "req": req, "metadata": metadata});
    if let Some(s) = strategy {
        f["strategy"] = json!(s);
    }
    c.send(f).await;
    c.recv_type_for(req).await
}

async fn metadata(s: &TestServer, thread: &str) -> Value {
    let r = s
        .agent_get(&format!("/v1/conversations/{thread}/metadata"))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["metadata"].clone()
}

#[tokio::test]
async fn queued_before_conversation_lands_on_creation() {
    // Spec 000's car configurator: data first, then the visitor writes.
    let s = TestServer::new().await;
    let (mut c, _, _) = s.visitor(SINGLE).await;
    let a = context(
        &mut c,
        "ctx1",
        json!({"color": "red", "model": "roadster"}),
        None,
    )
    .await;
    assert_eq!(
        a,
        json!({"type": "context_ack", "req": "ctx1", "thread_ids": [], "queued": true})
    );
    // Idempotent resend: same ack.
    assert_eq!(
        context(
            &mut c,
            "ctx1",
            json!({"color": "red", "model": "roadster"}),
            None
        )
        .await,
        a
    );
    let a2 = context(&mut c, "ctx2", json!({"color": "blue"}), None).await;
    assert_eq!(a2["queued"], true);

    let ack = c.send_text("m1", "Contact us").await;
    let thread = ack["message"]["thread_id"].as_str().unwrap();
    let m = metadata(&s, thread).await;
    assert_eq!(m["color"]["value"], "blue", "later value wins");
    assert_eq!(m["model"]["value"], "roadster");
    assert!(
        m["color"]["updated_at"].as_u64().unwrap() >= m["model"]["updated_at"].as_u64().unwrap()
    );

    // Now a conversation exists: ACTIVE goes straight to it and merges by key.
    let a3 = context(&mut c, "ctx3", json!({"wheels": 19}), Some("ACTIVE")).await;
    assert_eq!(a3["queued"], false);
    assert_eq!(a3["thread_ids"], json!([thread]));
    let m = metadata(&s, thread).await;
    assert_eq!(m["wheels"]["value"], 19);
    assert_eq!(m["color"]["value"], "blue");

    // Queued data was consumed: a later thread does not get it again.
    s.agent_post(
        &format!("/v1/conversations/{thread}/status"),
        json!({"status": "CLOSED"}),
    )
    .await;
    let t2 = c.send_text("m2", "new topic").await["message"]["thread_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(t2, thread);
    assert_eq!(metadata(&s, &t2).await, json!({}));
}

#[tokio::test]
async fn strategies_on_a_multi_thread_widget() {
    let s = TestServer::new().await;
    // Build a customer with two open threads (t1 from device A, t2 from device B).
    let (mut a, _, _) = s.visitor(MULTI).await;
    let t1 = a.send_text("a1", "one").await["message"]["thread_id"]
        .as_str()
        .unwrap()
        .to_string();
    auth(&mut a, MULTI, "ctx@example.com", "l1").await;
    let (mut b, _, _) = s.visitor(MULTI).await;
    let t2 = b.send_text("b1", "two").await["message"]["thread_id"]
        .as_str()
        .unwrap()
        .to_string();
    auth(&mut b, MULTI, "ctx@example.com", "l2").await;
    // t1 becomes the active thread.
    a.send(json!({"type": "send", "req": "a2", "thread_id": t1, "body": {"kind": "BASIC", "text": "bump"}})).await;
    a.recv_type_for("a2").await;

    let r = context(&mut a, "c1", json!({"only": "active"}), Some("ACTIVE")).await;
    assert_eq!(r["thread_ids"], json!([t1]));
    let r = context(&mut a, "c2", json!({"everyone": 1}), Some("ALL")).await;
    let mut ids: Vec<String> = serde_json::from_value(r["thread_ids"].clone()).unwrap();
    ids.sort();
    let mut both = vec![t1.clone(), t2.clone()];
    both.sort();
    assert_eq!(ids, both);
    let r = context(&mut a, "c3", json!({"sticky": true}), Some("ALL_PLUS_NEW")).await;
    assert_eq!(r["queued"], false);
    assert_eq!(r["thread_ids"].as_array().unwrap().len(), 2);

    assert_eq!(metadata(&s, &t1).await["only"]["value"], "active");
    assert!(metadata(&s, &t2).await.get("only").is_none());
    assert_eq!(metadata(&s, &t2).await["everyone"]["value"], 1);

    // ALL_PLUS_NEW also reaches threads opened later — more than one.
    for t in [&t1, &t2] {
        s.agent_post(
            &format!("/v1/conversations/{t}/status"),
            json!({"status": "SOLVED"}),
        )
        .await;
    }
    let t3 = a.send_text("a3", "new").await["message"]["thread_id"]
        .as_str()
        .unwrap()
        .to_string();
    let m3 = metadata(&s, &t3).await;
    assert_eq!(m3["sticky"]["value"], true);
    assert!(m3.get("everyone").is_none(), "plain ALL is not sticky");
    s.agent_post(
        &format!("/v1/conversations/{t3}/status"),
        json!({"status": "SOLVED"}),
    )
    .await;
    let t4 = a.send_text("a4", "newer").await["message"]["thread_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(metadata(&s, &t4).await["sticky"]["value"], true);

    // The sync tells the widget which data waits for new threads.
    let mut c = s.client().await;
    let (_, sync) = c.hello(MULTI, None, 0).await;
    assert!(
        sync.unwrap().get("pending_metadata").is_none(),
        "a fresh visitor has none"
    );
}

#[tokio::test]
async fn single_thread_ignores_the_strategy() {
    let s = TestServer::new().await;
    let (mut c, _, _) = s.visitor(SINGLE).await;
    let t = c.send_text("m", "hi").await["message"]["thread_id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = context(&mut c, "c", json!({"k": "v"}), Some("ALL_PLUS_NEW")).await;
    assert_eq!(r["thread_ids"], json!([t]));
    s.agent_post(
        &format!("/v1/conversations/{t}/status"),
        json!({"status": "SOLVED"}),
    )
    .await;
    let t2 = c.send_text("m2", "again").await["message"]["thread_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        metadata(&s, &t2).await,
        json!({}),
        "not sticky on a single-thread widget"
    );
}

#[tokio::test]
async fn metadata_limits_and_plain_data_keys() {
    let s = TestServer::new().await;
    let (mut c, _, _) = s.visitor(SINGLE).await;
    let t = c.send_text("m", "hi").await["message"]["thread_id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = context(
        &mut c,
        "p",
        json!({"__proto__": {"admin": true}, "constructor": "x"}),
        None,
    )
    .await;
    assert_eq!(r["type"], "context_ack");
    let m = metadata(&s, &t).await;
    assert_eq!(m["__proto__"]["value"], json!({"admin": true}));
    assert_eq!(m["constructor"]["value"], "x");

    let r = context(&mut c, "big", json!({"k": "x".repeat(17_000)}), None).await;
    assert_eq!(r["code"], "invalid_metadata");
    let mut deep = json!(1);
    for _ in 0..9 {
        deep = json!({ "d": deep });
    }
    let r = context(&mut c, "deep", json!({ "k": deep }), None).await;
    assert_eq!(r["code"], "invalid_metadata");
    let r = context(&mut c, "empty", json!({}), None).await;
    assert_eq!(r["code"], "invalid_metadata");
    // Unknown metadata endpoint thread.
    assert_eq!(
        s.agent_get("/v1/conversations/nope/metadata").await.status,
        404
    );
}
