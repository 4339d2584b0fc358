//! `history` over the websocket: older messages of the visitor's thread, page by page from
//! the store, only for the thread's owner; bad requests answered, the socket keeps serving.

mod common;
use common::*;
use serde_json::{json, Value};

async fn page(c: &mut Client, req: &str, thread: &str, before: Option<&str>, limit: u32) -> Value {
    let mut f = json!({"type": "history", "req": req, "thread_id": thread, "limit": limit});
    if let Some(b) = before {
        f["before"] = json!(b);
    }
    c.send(f).await;
    c.recv_type_for(req).await
}

fn texts(page: &Value) -> Vec<String> {
    page["messages"].as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn history_pages_back_to_the_first_message_and_only_for_the_owner() {
    let s = TestServer::new().await;
    let (mut c, _, _) = s.visitor(SINGLE).await;
    let ack = c.send_text("m0", "t0").await;
    let thread = ack["message"]["thread_id"].as_str().unwrap().to_string();
    for i in 1..60 {
        s.agent_reply(&thread, &format!("t{i}")).await;
    }
    let all: Vec<String> = (0..60).map(|i| format!("t{i}")).collect();

    let newest = page(&mut c, "h1", &thread, None, 1000).await;
    assert_eq!(newest["type"], "history_page", "{newest}");
    assert_eq!(newest["thread_id"], json!(thread));
    assert_eq!(texts(&newest), all[10..], "capped at 50");
    assert_eq!(newest["more"], true);
    let oldest = newest["messages"][0]["id"].as_str().unwrap().to_string();
    let rest = page(&mut c, "h2", &thread, Some(&oldest), 50).await;
    assert_eq!(texts(&rest), all[..10]);
    assert_eq!(rest["more"], false);
    assert_eq!(rest["messages"][0]["author"], "visitor");
    assert_eq!(rest["messages"][0]["client_id"], "m0");

    // Another visitor cannot read it; unknown ids and oversized ones are refused alike.
    let (mut other, _, _) = s.visitor(SINGLE).await;
    let e = page(&mut other, "x1", &thread, None, 50).await;
    assert_eq!((e["type"].as_str(), e["code"].as_str()), (Some("error"), Some("unknown_thread")), "{e}");
    for (req, t, b) in [("x2", "no-such-thread", None), ("x3", thread.as_str(), Some("no-such-message"))] {
        assert_eq!(page(&mut c, req, t, b, 50).await["code"], "unknown_thread");
    }
    let long = "x".repeat(200);
    assert_eq!(page(&mut c, "x4", &long, None, 50).await["code"], "unknown_thread");
    c.send(json!({"type": "history", "req": "", "thread_id": thread, "limit": 5})).await;
    assert_eq!(c.recv_type("error").await["code"], "invalid_message");
    c.send(json!({"type": "history", "req": "x5", "thread_id": thread})).await;
    assert_eq!(c.recv_type_for("x5").await["code"], "malformed_frame", "limit is required");
    // The socket still works.
    assert_eq!(c.send_text("m1", "after").await["type"], "ack");
}
