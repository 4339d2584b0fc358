//! `auth` with JWTs (every rule broken once), history inheritance, second device, logout.

mod common;
use base64::Engine;
use common::*;
use serde_json::{json, Value};

async fn expect_rejected(s: &TestServer, jwt: String, rule: &str) {
    let (mut c, _, _) = s.visitor(SINGLE).await;
    c.send(json!({"type": "auth", "req": "a", "jwt": jwt}))
        .await;
    let e = c.recv_type_for("a").await;
    assert_eq!(e["type"], "error", "{rule}: {e}");
    assert_eq!(e["code"], "invalid_token", "{rule}: {e}");
    let msg = e["message"].as_str().unwrap();
    assert!(msg.contains(rule), "message {msg:?} should name {rule:?}");
    assert!(!msg.contains(&b64(KEY1)), "never the secret");
    // The socket stays usable.
    c.send(json!({"type": "ping", "nonce": 1})).await;
    assert_eq!(c.recv().await["type"], "pong");
}

fn with(mut claims: Value, key: &str, v: Value) -> Value {
    if v.is_null() {
        claims.as_object_mut().unwrap().remove(key);
    } else {
        claims[key] = v;
    }
    claims
}

#[tokio::test]
async fn every_jwt_rule_is_enforced() {
    let s = TestServer::new().await;
    let now = now_secs();
    let good = || claims(SINGLE, "user@example.com");

    // alg none (unsigned).
    let b = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let none = format!(
        "{}.{}.",
        b(&json!({"alg": "none", "typ": "JWT"})),
        b(&good())
    );
    expect_rejected(&s, none, "alg").await;
    // alg RS256 header (even with an HMAC signature).
    let rs = livechat_server::jwt::sign_hs256(&json!({"alg": "RS256"}), &good(), KEY1);
    expect_rejected(&s, rs, "alg").await;
    // Wrong key (signed with k2's secret but claiming k1).
    expect_rejected(&s, sign(&good(), KEY2), "signature").await;
    // Wrong iss.
    expect_rejected(&s, sign(&with(good(), "iss", json!(MULTI)), KEY1), "iss").await;
    // Expired.
    expect_rejected(&s, sign(&with(good(), "exp", json!(now - 10)), KEY1), "exp").await;
    // Missing exp.
    expect_rejected(&s, sign(&with(good(), "exp", Value::Null), KEY1), "exp").await;
    // iat in the future (beyond the leeway).
    expect_rejected(
        &s,
        sign(&with(good(), "iat", json!(now + 600)), KEY1),
        "iat",
    )
    .await;
    // Missing iat.
    expect_rejected(&s, sign(&with(good(), "iat", Value::Null), KEY1), "iat").await;
    // Unknown ski.
    expect_rejected(&s, sign(&with(good(), "ski", json!("k9")), KEY1), "ski").await;
    // Bad stp.
    expect_rejected(&s, sign(&with(good(), "stp", json!("phone")), KEY1), "stp").await;
    // Empty sub.
    expect_rejected(&s, sign(&with(good(), "sub", json!("")), KEY1), "sub").await;
    // Missing jti.
    expect_rejected(&s, sign(&with(good(), "jti", Value::Null), KEY1), "jti").await;
    // Garbage.
    expect_rejected(&s, "not.a.jwt".into(), "").await;

    // Replayed jti: the first use succeeds, the second is refused.
    let token = sign(&good(), KEY1);
    let (mut c, _, _) = s.visitor(SINGLE).await;
    c.send(json!({"type": "auth", "req": "ok", "jwt": token}))
        .await;
    assert_eq!(c.recv_type_for("ok").await["type"], "auth_ok");
    expect_rejected(&s, token, "jti").await;

    // Small clock skew on iat is fine; the second key works too.
    let (mut c, _, _) = s.visitor(SINGLE).await;
    let t = sign(
        &with(with(good(), "iat", json!(now + 30)), "ski", json!("k2")),
        KEY2,
    );
    c.send(json!({"type": "auth", "req": "k2", "jwt": t})).await;
    assert_eq!(c.recv_type_for("k2").await["type"], "auth_ok");
}

#[tokio::test]
async fn auth_inherits_history_and_a_second_device_sees_it_live() {
    let s = TestServer::new().await;
    let (mut c, welcome, _) = s.visitor(SINGLE).await;
    let anon_session = welcome["session"].as_str().unwrap().to_string();
    let ack = c.send_text("m1", "before login").await;
    let thread = ack["message"]["thread_id"].as_str().unwrap().to_string();

    let (ok, sync) = auth(&mut c, SINGLE, "alice@example.com", "login").await;
    assert_eq!(
        ok["customer"],
        json!({"subject": "alice@example.com", "subject_type": "email"})
    );
    let session = ok["session"].as_str().unwrap().to_string();
    assert_ne!(session, anon_session);
    assert_eq!(sync["threads"][0]["id"], thread.as_str());
    assert_eq!(sync["threads"][0]["messages"][0]["text"], "before login");
    let head = sync["last_seq"].as_u64().unwrap();

    // The agent sees the conversation belongs to the customer now.
    let conv = s
        .agent_get(&format!("/v1/conversations/{thread}"))
        .await
        .json();
    assert_eq!(conv["conversation"]["principal"]["kind"], "customer");
    assert_eq!(
        conv["conversation"]["principal"]["customer"]["subject"],
        "alice@example.com"
    );

    // Idempotency keys moved with the history.
    assert_eq!(
        c.send_text("m1", "before login").await["message"],
        ack["message"]
    );

    // Second device: fresh visitor, authenticates as the same customer, sees the same history.
    let (mut d, _, _) = s.visitor(SINGLE).await;
    let (_, sync2) = auth(&mut d, SINGLE, "alice@example.com", "login2").await;
    assert_eq!(sync2["threads"][0]["id"], thread.as_str());
    assert_eq!(sync2["threads"][0]["messages"][0]["text"], "before login");

    // Live: a message from device 1 and an agent reply reach device 2.
    let a2 = c.send_text("m2", "from device 1").await;
    assert_eq!(a2["message"]["thread_id"], thread.as_str());
    let e = d.recv_event().await;
    assert_eq!(e["event"]["message"]["text"], "from device 1");
    assert!(e["seq"].as_u64().unwrap() > head);
    s.agent_reply(&thread, "hello alice").await;
    assert_eq!(
        d.recv_event().await["event"]["message"]["text"],
        "hello alice"
    );

    // The old anonymous session no longer resumes; the customer session does, with the customer.
    let mut x = s.client().await;
    let (w, _) = x.hello(SINGLE, Some(&anon_session), 1).await;
    assert_eq!(w["resumed"], false);
    assert!(w.get("customer").is_none());
    let mut y = s.client().await;
    let (w, _) = y.hello(SINGLE, Some(&session), 0).await;
    assert_eq!(w["customer"]["subject"], "alice@example.com");
}

#[tokio::test]
async fn single_thread_merge_keeps_one_open_thread() {
    let s = TestServer::new().await;
    let (mut a, _, _) = s.visitor(SINGLE).await;
    let ta = a.send_text("a", "device a").await["message"]["thread_id"].clone();
    auth(&mut a, SINGLE, "bob@example.com", "l1").await;
    let (mut b, _, _) = s.visitor(SINGLE).await;
    let tb = b.send_text("b", "device b").await["message"]["thread_id"].clone();
    // Device A (same customer) hears about the inherited thread and the closing of the older one.
    let (_, sync) = auth(&mut b, SINGLE, "bob@example.com", "l2").await;
    let open: Vec<_> = sync["threads"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["status"] == "OPEN")
        .collect();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0]["id"], tb);
    let e = a.recv_event().await;
    assert_eq!(e["event"]["kind"], "thread_opened");
    assert_eq!(e["event"]["thread"]["id"], tb);
    assert_eq!(e["event"]["thread"]["messages"][0]["text"], "device b");
    let e = a.recv_event().await;
    assert_eq!(
        e["event"],
        json!({"kind": "thread_status", "thread_id": ta, "status": "CLOSED"})
    );
}

#[tokio::test]
async fn logout_ends_the_session() {
    let s = TestServer::new().await;
    let (mut c, _, _) = s.visitor(SINGLE).await;
    c.send(json!({"type": "logout", "req": "lo0"})).await;
    assert_eq!(c.recv().await["code"], "not_authenticated");

    let (ok, _) = auth(&mut c, SINGLE, "carol@example.com", "in").await;
    let session = ok["session"].as_str().unwrap().to_string();
    c.send(json!({"type": "logout", "req": "lo1"})).await;
    let frames = c.until_closed().await;
    assert_eq!(
        frames.last().unwrap(),
        &json!({"type": "logged_out", "req": "lo1"})
    );

    let mut c = s.client().await;
    let (w, sync) = c.hello(SINGLE, Some(&session), 0).await;
    assert_eq!(w["resumed"], false);
    assert!(w.get("customer").is_none(), "the token no longer works");
    assert_eq!(sync.unwrap()["threads"], json!([]));
}

#[tokio::test]
async fn a_hello_ends_the_sessions_it_names_before_anything_else() {
    // The widget logged out while offline: its next hello (a fresh visitor) names the old
    // token; afterwards that token resumes nothing.
    let s = TestServer::new().await;
    let (mut c, _, _) = s.visitor(SINGLE).await;
    let (ok, _) = auth(&mut c, SINGLE, "dave@example.com", "in").await;
    let session = ok["session"].as_str().unwrap().to_string();
    let ack = c.send_text("m1", "private").await;
    assert_eq!(ack["type"], "ack", "{ack}");
    drop(c); // the connection is lost; the widget logs out offline

    let mut c = s.client().await;
    c.send(json!({"type": "hello", "protocol": 1, "widget_id": SINGLE, "last_seq": 0,
        "end_sessions": ["", "x".repeat(300), "not-a-session", session]}))
        .await;
    let w = c.recv().await;
    assert_eq!(w["type"], "welcome", "{w}");
    assert!(w.get("customer").is_none(), "a new anonymous visitor");
    assert_ne!(w["session"], json!(session));
    assert_eq!(c.recv_type("sync").await["threads"], json!([]));

    let mut c = s.client().await;
    let (w, sync) = c.hello(SINGLE, Some(&session), 0).await;
    assert!(w.get("customer").is_none(), "the ended token no longer works: {w}");
    assert_eq!(sync.unwrap()["threads"], json!([]), "nothing of the customer's history");
}

#[tokio::test]
async fn an_expired_token_asks_for_reauth_and_holds_sends_until_a_fresh_auth() {
    let s = TestServer::new().await;
    let (mut c, _, _) = s.visitor(SINGLE).await;
    // A token that expires in 2 s (the session lasts as long as the token).
    let short = with(claims(SINGLE, "short@example.com"), "exp", json!(now_secs() + 2));
    c.send(json!({"type": "auth", "req": "login", "jwt": sign(&short, KEY1)})).await;
    let ok = c.recv_type_for("login").await;
    assert_eq!(ok["type"], "auth_ok", "{ok}");
    let session = ok["session"].as_str().unwrap().to_string();
    let _sync = c.recv().await;
    let ack = c.send_text("m1", "while valid").await;
    assert_eq!(ack["type"], "ack", "{ack}");

    // At expiry the server says so, unprompted, on the live socket.
    let told = c.recv_type("error").await;
    assert_eq!(told["code"], "reauth_required", "{told}");
    assert!(told.get("req").is_none() || told["req"].is_null(), "connection-level: {told}");
    // Sends are held (not stored) until a fresh auth; the socket stays open.
    let held = c.send_text("m2", "after expiry").await;
    assert_eq!(held["code"], "reauth_required", "{held}");

    // A reconnect with the expired session: welcome (history kept), then the same request.
    let mut d = s.client().await;
    let (w, _) = d.hello(SINGLE, Some(&session), 0).await;
    assert_eq!(w["customer"]["subject"], "short@example.com", "still the customer: {w}");
    assert_eq!(d.recv_type("error").await["code"], "reauth_required");

    // A fresh token: the held message goes through, once, in the same conversation.
    let (ok2, _) = auth(&mut c, SINGLE, "short@example.com", "login2").await;
    assert_eq!(ok2["type"], "auth_ok");
    let ack2 = c.send_text("m2", "after expiry").await;
    assert_eq!(ack2["type"], "ack", "{ack2}");
    assert_eq!(ack2["message"]["thread_id"], ack["message"]["thread_id"]);
}

#[tokio::test]
async fn reauth_can_be_switched_off_per_widget() {
    let toml = config_toml("").replace("multi_thread = true", "multi_thread = true\nreauth_on_token_expiry = false");
    let s = TestServer::with_config(&toml).await;
    let (mut c, _, _) = s.visitor(MULTI).await;
    let short = with(claims(MULTI, "long@example.com"), "exp", json!(now_secs() + 1));
    c.send(json!({"type": "auth", "req": "login", "jwt": sign(&short, KEY1)})).await;
    assert_eq!(c.recv_type_for("login").await["type"], "auth_ok");
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let ack = c.send_text("m1", "after the token's exp").await;
    assert_eq!(ack["type"], "ack", "the session outlives the token: {ack}");
}
