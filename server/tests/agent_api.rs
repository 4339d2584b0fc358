//! Agent API, event stream, availability, inactivity closing, auto-reply, health and static files.

mod common;
use common::*;
use serde_json::{json, Value};

async fn agent_stream(s: &TestServer, token: &str) -> Client {
    let url = format!("ws://{}/v1/agent/events?token={token}", s.addr);
    let (ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("agent stream");
    let mut c = Client { ws };
    assert_eq!(c.recv().await["type"], "ready");
    c
}

#[tokio::test]
async fn agent_api_requires_a_bearer_token() {
    let s = TestServer::new().await;
    for path in [
        "/v1/conversations",
        "/v1/conversations/x/messages",
        "/v1/conversations/x/metadata",
    ] {
        let r = s.http("GET", path, &[], None).await;
        assert_eq!(r.status, 401, "{path}");
        assert_eq!(r.json()["code"], "unauthorized");
        let r = s
            .http(
                "GET",
                path,
                &[("Authorization", "Bearer wrong-token")],
                None,
            )
            .await;
        assert_eq!(r.status, 401);
    }
    let r = s
        .http(
            "POST",
            "/v1/conversations/x/messages",
            &[],
            Some(r#"{"text":"x"}"#),
        )
        .await;
    assert_eq!(r.status, 401);
    let r = s
        .http(
            "POST",
            "/v1/conversations/x/status",
            &[],
            Some(r#"{"status":"CLOSED"}"#),
        )
        .await;
    assert_eq!(r.status, 401);
    let url = format!("ws://{}/v1/agent/events?token=wrong", s.addr);
    assert!(tokio_tungstenite::connect_async(url).await.is_err());
}

#[tokio::test]
async fn list_read_reply_and_close() {
    let s = TestServer::new().await;
    let (mut c, _, _) = s.visitor(SINGLE).await;
    let t = c.send_text("m1", "I need help").await["message"]["thread_id"]
        .as_str()
        .unwrap()
        .to_string();
    c.send_text("m2", "please").await;
    let (mut m, _, _) = s.visitor(MULTI).await;
    m.send_text("x", "other widget").await;

    let all = s.agent_get("/v1/conversations").await.json();
    assert_eq!(all["conversations"].as_array().unwrap().len(), 2);
    let list = s
        .agent_get(&format!("/v1/conversations?widget_id={SINGLE}&status=OPEN"))
        .await
        .json();
    let convs = list["conversations"].as_array().unwrap();
    assert_eq!(convs.len(), 1);
    let conv = &convs[0];
    assert_eq!(conv["id"], t.as_str());
    assert_eq!(conv["status"], "OPEN");
    assert_eq!(conv["unread_count"], 2);
    assert_eq!(conv["message_count"], 2);
    assert_eq!(conv["last_message"]["text"], "please");
    assert_eq!(conv["principal"]["kind"], "visitor");
    assert!(conv["updated_at"].as_u64().unwrap() > 0);
    assert_eq!(
        s.agent_get("/v1/conversations?status=bogus").await.status,
        400
    );

    // Reply: the visitor gets it live.
    let reply = s.agent_reply(&t, "How can I help?").await;
    assert_eq!(reply["message"]["author"], "agent");
    let e = c.recv_type("event").await;
    let mut e = e;
    while e["event"]["kind"] != "message" || e["event"]["message"]["author"] != "agent" {
        e = c.recv_event().await;
    }
    assert_eq!(e["event"]["message"]["text"], "How can I help?");
    assert_eq!(e["event"]["message"]["agent_name"], "Test agent");
    let conv = s.agent_get(&format!("/v1/conversations/{t}")).await.json();
    assert_eq!(conv["conversation"]["unread_count"], 0);

    let msgs = s
        .agent_get(&format!("/v1/conversations/{t}/messages"))
        .await
        .json();
    let texts: Vec<Value> = msgs["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].clone())
        .collect();
    assert_eq!(
        texts,
        vec![
            json!("I need help"),
            json!("please"),
            json!("How can I help?")
        ]
    );

    // Bad bodies.
    let r = s
        .agent_post(
            &format!("/v1/conversations/{t}/messages"),
            json!({"text": ""}),
        )
        .await;
    assert_eq!(r.status, 400);
    let r = s
        .agent_post(
            &format!("/v1/conversations/{t}/status"),
            json!({"status": "OPEN"}),
        )
        .await;
    assert_eq!(r.status, 400);
    let r = s
        .agent_post("/v1/conversations/nope/messages", json!({"text": "x"}))
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["code"], "unknown_thread");

    // Close: the visitor hears it; replies to a closed thread are refused.
    let r = s
        .agent_post(
            &format!("/v1/conversations/{t}/status"),
            json!({"status": "CLOSED"}),
        )
        .await;
    assert_eq!(r.json()["conversation"]["status"], "CLOSED");
    let e = c.recv_event().await;
    assert_eq!(
        e["event"],
        json!({"kind": "thread_status", "thread_id": t, "status": "CLOSED"})
    );
    let r = s
        .agent_post(
            &format!("/v1/conversations/{t}/messages"),
            json!({"text": "late"}),
        )
        .await;
    assert_eq!(r.status, 409);
    assert_eq!(r.json()["code"], "thread_closed");
}

#[tokio::test]
async fn event_stream_and_availability() {
    let s = TestServer::new().await;
    let (mut c, welcome, _) = s.visitor(SINGLE).await;
    assert_eq!(welcome["online"], false);
    let cfg = s
        .http("GET", &format!("/v1/widgets/{SINGLE}/config"), &[], None)
        .await
        .json();
    assert_eq!(cfg["online"], false);

    let mut agent = agent_stream(&s, AGENT_TOKEN).await;
    // The visitor learns agents are online.
    let e = c.recv_event().await;
    assert_eq!(e["event"], json!({"kind": "availability", "online": true}));
    let cfg = s
        .http("GET", &format!("/v1/widgets/{SINGLE}/config"), &[], None)
        .await
        .json();
    assert_eq!(cfg["online"], true);

    c.send(json!({"type": "contextual_data", "req": "ctx", "metadata": {"cart": ["shoes"]}}))
        .await;
    c.recv_type_for("ctx").await;
    let ack = c.send_text("m1", "hi agent").await;
    let t = ack["message"]["thread_id"].as_str().unwrap().to_string();
    let opened = agent.recv().await;
    assert_eq!(opened["type"], "thread_opened");
    assert_eq!(opened["conversation"]["id"], t.as_str());
    let md = agent.recv().await;
    assert_eq!(md["type"], "metadata_updated");
    assert_eq!(md["metadata"]["cart"]["value"], json!(["shoes"]));
    let msg = agent.recv().await;
    assert_eq!(msg["type"], "message");
    assert_eq!(msg["message"]["text"], "hi agent");
    assert_eq!(msg["widget_id"], SINGLE);

    s.agent_post(
        &format!("/v1/conversations/{t}/status"),
        json!({"status": "SOLVED"}),
    )
    .await;
    let st = agent.recv().await;
    assert_eq!(
        st,
        json!({"type": "thread_status", "widget_id": SINGLE, "thread_id": t, "status": "SOLVED"})
    );

    // The agent leaves: offline again.
    agent.ws.close(None).await.unwrap();
    drop(agent);
    loop {
        let e = c.recv_event().await;
        if e["event"]["kind"] == "availability" {
            assert_eq!(e["event"]["online"], false);
            break;
        }
    }
}

#[tokio::test]
async fn inactive_threads_close_by_themselves() {
    let s = TestServer::new().await;
    let (mut c, _, _) = s.visitor(FAST).await; // inactivity 0.4 s, sweep every 100 ms
    let t = c.send_text("m", "anyone?").await["message"]["thread_id"]
        .as_str()
        .unwrap()
        .to_string();
    c.recv_event().await;
    c.recv_event().await;
    let e = c.recv_event().await;
    assert_eq!(
        e["event"],
        json!({"kind": "thread_status", "thread_id": t, "status": "CLOSED"})
    );
    assert_eq!(e["seq"], 3);
    // The next message opens a new thread.
    let t2 = c.send_text("m2", "hello again").await["message"]["thread_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(t, t2);
}

#[tokio::test]
async fn demo_auto_reply_answers_when_no_agent_is_connected() {
    let s = TestServer::with_config(&config_toml(
        "[auto_reply]\ntext = \"Bot here\"\ndelay_ms = 50\n",
    ))
    .await;
    let (mut c, _, _) = s.visitor(SINGLE).await;
    c.send_text("m", "hi").await;
    loop {
        let e = c.recv_event().await;
        if e["event"]["kind"] == "message" && e["event"]["message"]["author"] == "agent" {
            assert_eq!(e["event"]["message"]["text"], "Bot here");
            assert_eq!(e["event"]["message"]["agent_name"], "Demo bot");
            break;
        }
    }
    // With an agent connected the bot stays quiet.
    let _agent = agent_stream(&s, AGENT_TOKEN).await;
    c.recv_event().await; // availability
    c.send_text("m2", "again").await;
    c.recv_event().await; // own message
    c.expect_silence(300).await;
}

#[tokio::test]
async fn demo_jwt_mint_and_health_and_static_files() {
    let s = TestServer::with_config(&config_toml("demo_jwt_mint = true\n")).await;
    assert_eq!(s.http("GET", "/healthz", &[], None).await.status, 200);
    let r = s
        .http(
            "POST",
            "/demo/jwt",
            &[("Content-Type", "application/json")],
            Some(r#"{"sub":"d@example.com","stp":"email"}"#),
        )
        .await;
    assert_eq!(r.status, 200);
    let jwt = r.json()["jwt"].as_str().unwrap().to_string();
    let (mut c, _, _) = s.visitor(SINGLE).await;
    c.send(json!({"type": "auth", "req": "a", "jwt": jwt}))
        .await;
    assert_eq!(c.recv_type_for("a").await["type"], "auth_ok");
    // Without the flag the endpoint does not exist.
    let plain = TestServer::new().await;
    assert_eq!(
        plain
            .http(
                "POST",
                "/demo/jwt",
                &[],
                Some(r#"{"sub":"d","stp":"email"}"#)
            )
            .await
            .status,
        404
    );

    // Static files.
    let www = tempfile::tempdir().unwrap();
    std::fs::write(www.path().join("index.html"), "<h1>demo</h1>").unwrap();
    std::fs::write(www.path().join("w.wasm"), b"\0asm").unwrap();
    std::fs::create_dir(www.path().join("widget")).unwrap();
    std::fs::write(www.path().join("widget/livechat.js"), "/* loader */").unwrap();
    std::fs::write(www.path().join("livechat.js"), "/* not the loader */").unwrap();
    let config = livechat_server::config::Config::from_toml_str(&config_toml("")).unwrap();
    let data = tempfile::tempdir().unwrap();
    let srv = livechat_server::start(livechat_server::ServerOptions {
        config,
        data_dir: data.path().to_path_buf(),
        store: livechat_server::StoreSpec::Sqlite,
        addr: "127.0.0.1:0".parse().unwrap(),
        static_dir: Some(www.path().to_path_buf()),
        cluster: None,
    })
    .await
    .unwrap();
    let r = http(srv.addr, "GET", "/", &[], None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "<h1>demo</h1>");
    assert!(r.header("content-type").unwrap().starts_with("text/html"));
    let r = http(srv.addr, "GET", "/w.wasm", &[], None).await;
    assert_eq!(r.header("content-type"), Some("application/wasm"));
    let r = http(srv.addr, "HEAD", "/w.wasm", &[], None).await;
    assert_eq!((r.status, r.body.len(), r.header("content-length")), (200, 0, Some("4")), "HEAD: the GET's length, no body");
    // The loader (the snippet's fixed URL) is run from the cache while it revalidates; any
    // other file without a pinned `?v=` is revalidated before use.
    let r = http(srv.addr, "GET", "/widget/livechat.js", &[], None).await;
    assert_eq!(r.text(), "/* loader */");
    assert_eq!(r.header("cache-control"), Some("max-age=0, stale-while-revalidate=86400"));
    assert_eq!(r.header("vary"), Some("Accept-Encoding"), "the same for every page without ?id=");
    let r = http(srv.addr, "GET", "/livechat.js", &[], None).await;
    assert_eq!(r.header("cache-control"), Some("no-cache"));
    // `?id=` of a widget: its launcher preset (colour, default language) in front of the
    // loader, for a same-origin request (no Origin) or an allowed page, gzipped when asked,
    // with a validator of its own; never for another page, an unknown widget or no id.
    let url = format!("/widget/livechat.js?id={SINGLE}");
    let preset = |r: &HttpResponse| -> Option<Value> {
        let text = r.text();
        let line = text.strip_prefix("import.meta.lc=")?.split_once(";\n")?;
        assert_eq!(line.1, "/* loader */");
        Some(serde_json::from_str(line.0).unwrap())
    };
    let r = http(srv.addr, "GET", &url, &[], None).await;
    let p = preset(&r).expect("preset for a same-origin request");
    assert_eq!(p, json!({"id": SINGLE, "color": "#0b57d0", "default_language": "en-US"}));
    assert_eq!(r.header("cache-control"), Some("max-age=0, stale-while-revalidate=86400"));
    assert_eq!(r.header("vary"), Some("Accept-Encoding, Origin"));
    let r = http(srv.addr, "GET", &url, &[("Origin", ORIGIN)], None).await;
    assert!(preset(&r).is_some(), "allowed page");
    for (path, origin) in [(url.as_str(), "http://evil.test"), ("/widget/livechat.js?id=nope", ORIGIN), ("/widget/livechat.js", ORIGIN)] {
        let r = http(srv.addr, "GET", path, &[("Origin", origin)], None).await;
        assert_eq!(r.text(), "/* loader */", "{path} from {origin}: the plain loader");
    }
    let gz = http(srv.addr, "GET", &url, &[("Accept-Encoding", "gzip, br")], None).await;
    assert_eq!(gz.header("content-encoding"), Some("gzip"));
    let mut plain = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&gz.body[..]), &mut plain).unwrap();
    assert!(plain.starts_with("import.meta.lc={") && plain.ends_with("/* loader */"), "{plain}");
    let etag = gz.header("etag").unwrap().to_string();
    let r = http(srv.addr, "GET", &url, &[("Accept-Encoding", "gzip, br"), ("If-None-Match", &etag)], None).await;
    assert_eq!(r.status, 304);
    // A new build of the loader is served at once (what is made is kept per file version).
    std::fs::write(www.path().join("widget/livechat.js"), "/* loader, next build */").unwrap();
    let r = http(srv.addr, "GET", &url, &[], None).await;
    assert!(r.text().starts_with("import.meta.lc={") && r.text().ends_with("/* loader, next build */"), "{}", r.text());
    let r = http(srv.addr, "GET", &url, &[("Accept-Encoding", "gzip, br"), ("If-None-Match", &etag)], None).await;
    assert_eq!(r.status, 200, "the old validator no longer matches");
    assert_eq!(
        http(srv.addr, "GET", "/../../etc/passwd", &[], None)
            .await
            .status,
        404
    );
    assert_eq!(
        http(srv.addr, "GET", "/%2e%2e/%2e%2e/etc/passwd", &[], None)
            .await
            .status,
        404
    );
    assert_eq!(
        http(srv.addr, "GET", "/missing.js", &[], None).await.status,
        404
    );

    // Precompressed sidecars by Accept-Encoding; a sidecar older than its file is ignored.
    std::fs::write(www.path().join("w.wasm.br"), b"brotli bytes").unwrap();
    std::fs::write(www.path().join("w.wasm.gz"), b"gzip bytes").unwrap();
    let get = |enc: &'static str| {
        let addr = srv.addr;
        async move { http(addr, "GET", "/w.wasm", &[("Accept-Encoding", enc)], None).await }
    };
    let r = get("gzip, deflate, br, zstd").await;
    assert_eq!(r.body, b"brotli bytes");
    assert_eq!(r.header("content-encoding"), Some("br"));
    assert_eq!(r.header("content-type"), Some("application/wasm"));
    assert_eq!(r.header("vary"), Some("Accept-Encoding"));
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    assert_eq!(r.header("cache-control"), Some("no-cache"));
    // A content-hashed URL (the loader's `?v=`, the sha256 prefix of the uncompressed file)
    // is cached for a year without revalidation; any other `v` is revalidated as usual.
    let sha = {
        use sha2::{Digest, Sha256};
        Sha256::digest(b"\0asm").iter().map(|b| format!("{b:02x}")).collect::<String>()
    };
    let r = http(srv.addr, "GET", &format!("/w.wasm?v={}", &sha[..12]), &[("Accept-Encoding", "br")], None).await;
    assert_eq!(r.body, b"brotli bytes");
    assert_eq!(r.header("cache-control"), Some("public, max-age=31536000, immutable"));
    for other in ["/w.wasm?v=0123abcdef01", "/w.wasm?v=", "/w.wasm?v=2", "/w.wasm?v=zzzzzzzzzzzz"] {
        let r = http(srv.addr, "GET", other, &[], None).await;
        assert_eq!(r.header("cache-control"), Some("no-cache"), "{other}");
    }
    let r = http(srv.addr, "GET", &format!("/missing.wasm?v={}", &sha[..12]), &[], None).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let r = get("gzip, deflate").await;
    assert_eq!(r.body, b"gzip bytes");
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    let r = get("identity").await;
    assert_eq!(r.body, b"\0asm");
    assert_eq!(r.header("content-encoding"), None);
    // Revalidation: the ETag of a representation gives 304 and no body; another
    // representation's ETag does not.
    let etag = get("gzip").await.header("etag").unwrap().to_string();
    let raw_etag = get("identity").await.header("etag").unwrap().to_string();
    assert_ne!(etag, raw_etag);
    let r = http(srv.addr, "GET", "/w.wasm", &[("Accept-Encoding", "gzip"), ("If-None-Match", &etag)], None).await;
    assert_eq!(r.status, 304);
    assert!(r.body.is_empty());
    assert_eq!(r.header("etag"), Some(etag.as_str()));
    let r = http(srv.addr, "GET", "/w.wasm", &[("Accept-Encoding", "gzip"), ("If-None-Match", &raw_etag)], None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"gzip bytes");
    // The file is rebuilt after its sidecars: they are stale and not served.
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    for side in ["w.wasm.br", "w.wasm.gz"] {
        std::fs::File::options().write(true).open(www.path().join(side)).unwrap().set_modified(old).unwrap();
    }
    let r = get("gzip, br").await;
    assert_eq!(r.body, b"\0asm");
    assert_eq!(r.header("content-encoding"), None);
    srv.shutdown().await;
}
