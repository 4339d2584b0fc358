//! Shared helpers: an in-process server on 127.0.0.1:0 with a temporary data dir, real
//! websocket clients (tokio-tungstenite), a tiny HTTP client, and JWT signing.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use base64::Engine;
use futures::{SinkExt, StreamExt};
use livechat_server::config::Config;
use livechat_server::{start, RunningServer, ServerOptions};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub const SINGLE: &str = "w-single";
pub const MULTI: &str = "w-multi";
pub const FAST: &str = "w-fast";
pub const AGENT_TOKEN: &str = "test-agent-token";
pub const KEY1: &[u8] = b"0123456789abcdef0123456789abcdef";
pub const KEY2: &[u8] = b"another-secret-key-for-widget!!!";
pub const ORIGIN: &str = "http://allowed.test";

pub fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// The test configuration; `extra` is prepended (top-level keys, `[auto_reply]` …).
pub fn config_toml(extra: &str) -> String {
    let keys = format!(
        r#"secret_keys = [{{ ski = "k1", secret = "{}" }}, {{ ski = "k2", secret = "{}" }}]"#,
        b64(KEY1),
        b64(KEY2)
    );
    format!(
        r#"{extra}
[limits]
sweep_interval_ms = 100
frame_max_bytes = 2097152
rate_limit_per_sec = 20.0
rate_limit_burst = 40.0

[[agents]]
name = "Test agent"
token = "{AGENT_TOKEN}"

[[widgets]]
id = "{SINGLE}"
title = "Single"
allowed_origins = ["{ORIGIN}", "http://127.0.0.1:*"]
{keys}
attachments = {{ max_bytes = 1000, allowed_types = ["image/*", "text/plain"] }}

[[widgets]]
id = "{MULTI}"
multi_thread = true
allowed_origins = ["{ORIGIN}"]
{keys}

[[widgets]]
id = "{FAST}"
inactivity_timeout_secs = 0.4
allowed_origins = ["{ORIGIN}"]
{keys}
"#
    )
}

pub struct TestServer {
    pub server: Option<RunningServer>,
    pub addr: SocketAddr,
    pub dir: tempfile::TempDir,
    pub toml: String,
}

async fn start_in(toml: &str, dir: &std::path::Path, addr: SocketAddr) -> RunningServer {
    let config = Config::from_toml_str(toml).expect("test config");
    start(ServerOptions {
        config,
        data_dir: dir.to_path_buf(),
        store: livechat_server::StoreSpec::Sqlite,
        addr,
        static_dir: None,
        cluster: None,
    })
    .await
    .expect("server starts")
}

impl TestServer {
    pub async fn new() -> TestServer {
        TestServer::with_config(&config_toml("")).await
    }

    pub async fn with_config(toml: &str) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let server = start_in(toml, dir.path(), "127.0.0.1:0".parse().unwrap()).await;
        TestServer {
            addr: server.addr,
            server: Some(server),
            dir,
            toml: toml.to_string(),
        }
    }

    /// Stops the server and starts a new one on the same data dir (new port).
    pub async fn restart(&mut self) {
        if let Some(s) = self.server.take() {
            s.shutdown().await;
        }
        let s = start_in(&self.toml, self.dir.path(), "127.0.0.1:0".parse().unwrap()).await;
        self.addr = s.addr;
        self.server = Some(s);
    }

    pub async fn client(&self) -> Client {
        Client::connect(self.addr, Some(ORIGIN))
            .await
            .expect("ws connects")
    }

    /// A connected client that said hello as a new visitor; returns it with (welcome, sync).
    pub async fn visitor(&self, widget: &str) -> (Client, Value, Value) {
        let mut c = self.client().await;
        let (w, s) = c.hello(widget, None, 0).await;
        (c, w, s.expect("sync after fresh hello"))
    }

    pub async fn http(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> HttpResponse {
        http(self.addr, method, path, headers, body).await
    }

    pub async fn agent_get(&self, path: &str) -> HttpResponse {
        self.http(
            "GET",
            path,
            &[("Authorization", &format!("Bearer {AGENT_TOKEN}"))],
            None,
        )
        .await
    }

    pub async fn agent_post(&self, path: &str, body: Value) -> HttpResponse {
        self.http(
            "POST",
            path,
            &[
                ("Authorization", &format!("Bearer {AGENT_TOKEN}")),
                ("Content-Type", "application/json"),
            ],
            Some(&body.to_string()),
        )
        .await
    }

    pub async fn agent_reply(&self, thread_id: &str, text: &str) -> Value {
        let r = self
            .agent_post(
                &format!("/v1/conversations/{thread_id}/messages"),
                json!({ "text": text }),
            )
            .await;
        assert_eq!(r.status, 201, "agent reply: {}", r.text());
        r.json()
    }
}

pub struct Client {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

pub const RECV_TIMEOUT: Duration = Duration::from_secs(5);

impl Client {
    pub async fn connect(
        addr: SocketAddr,
        origin: Option<&str>,
    ) -> Result<Client, tokio_tungstenite::tungstenite::Error> {
        let mut req = format!("ws://{addr}/v1/ws").into_client_request()?;
        if let Some(o) = origin {
            req.headers_mut().insert("Origin", o.parse().unwrap());
        }
        let (ws, _) = tokio_tungstenite::connect_async(req).await?;
        Ok(Client { ws })
    }

    pub async fn send(&mut self, v: Value) {
        self.ws
            .send(Message::Text(v.to_string().into()))
            .await
            .expect("ws send");
    }

    pub async fn send_raw(&mut self, s: &str) {
        self.ws
            .send(Message::Text(s.to_string().into()))
            .await
            .expect("ws send");
    }

    /// Next JSON frame; panics on timeout or close.
    pub async fn recv(&mut self) -> Value {
        match self.try_recv(RECV_TIMEOUT).await {
            Some(v) => v,
            None => panic!("no frame within {RECV_TIMEOUT:?} (or socket closed)"),
        }
    }

    /// Next JSON frame, or None on timeout / close.
    pub async fn try_recv(&mut self, t: Duration) -> Option<Value> {
        loop {
            let m = tokio::time::timeout(t, self.ws.next()).await.ok()??.ok()?;
            match m {
                Message::Text(s) => {
                    return Some(serde_json::from_str(s.as_str()).expect("server frames are JSON"))
                }
                Message::Close(_) => return None,
                _ => continue,
            }
        }
    }

    /// Frames until one with `type == t` (returns it and the skipped ones).
    pub async fn recv_type(&mut self, t: &str) -> Value {
        loop {
            let v = self.recv().await;
            if v["type"] == t {
                return v;
            }
        }
    }

    /// Next `event` frame.
    pub async fn recv_event(&mut self) -> Value {
        self.recv_type("event").await
    }

    /// Asserts that nothing arrives within `ms`.
    pub async fn expect_silence(&mut self, ms: u64) {
        if let Some(v) = self.try_recv(Duration::from_millis(ms)).await {
            panic!("unexpected frame {v}");
        }
    }

    /// Waits until the server closes the socket (frames before are returned).
    pub async fn until_closed(&mut self) -> Vec<Value> {
        let mut out = vec![];
        loop {
            match tokio::time::timeout(RECV_TIMEOUT, self.ws.next()).await {
                Err(_) => panic!("socket not closed; got {out:?}"),
                Ok(None) | Ok(Some(Err(_))) | Ok(Some(Ok(Message::Close(_)))) => return out,
                Ok(Some(Ok(Message::Text(s)))) => {
                    out.push(serde_json::from_str(s.as_str()).unwrap())
                }
                Ok(Some(Ok(_))) => {}
            }
        }
    }

    /// Sends hello; returns the welcome and (when not resumed) the sync.
    pub async fn hello(
        &mut self,
        widget: &str,
        session: Option<&str>,
        last_seq: u64,
    ) -> (Value, Option<Value>) {
        let mut h =
            json!({"type": "hello", "protocol": 1, "widget_id": widget, "last_seq": last_seq});
        if let Some(s) = session {
            h["session"] = json!(s);
        }
        self.send(h).await;
        let w = self.recv().await;
        assert_eq!(w["type"], "welcome", "expected welcome, got {w}");
        if w["resumed"] == true {
            (w, None)
        } else {
            let s = self.recv().await;
            assert_eq!(s["type"], "sync", "expected sync, got {s}");
            (w, Some(s))
        }
    }

    /// Sends a text message and returns the ack.
    pub async fn send_text(&mut self, req: &str, text: &str) -> Value {
        self.send(json!({"type": "send", "req": req, "body": {"kind": "BASIC", "text": text}}))
            .await;
        self.recv_type_for(req).await
    }

    /// The answer (ack, context_ack, error, auth_ok …) carrying `req`, skipping events.
    pub async fn recv_type_for(&mut self, req: &str) -> Value {
        loop {
            let v = self.recv().await;
            if v["req"] == req {
                return v;
            }
        }
    }
}

pub struct HttpResponse {
    pub status: u16,
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).to_string()
    }
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("json body ({e}): {}", self.text()))
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }
}

/// Minimal HTTP/1.1 client (Connection: close).
pub async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> HttpResponse {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    let body = body.unwrap_or("");
    req.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    tokio::time::timeout(RECV_TIMEOUT, s.read_to_end(&mut buf))
        .await
        .expect("http timeout")
        .unwrap();
    let split = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("http head");
    let head = String::from_utf8_lossy(&buf[..split]).to_string();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let mut hm = HashMap::new();
    for l in lines {
        if let Some((k, v)) = l.split_once(':') {
            hm.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let mut body = buf[split + 4..].to_vec();
    if hm
        .get("transfer-encoding")
        .map(|v| v.contains("chunked"))
        .unwrap_or(false)
    {
        let mut out = Vec::new();
        let mut rest = &body[..];
        loop {
            let nl = rest.windows(2).position(|w| w == b"\r\n").unwrap();
            let n = usize::from_str_radix(std::str::from_utf8(&rest[..nl]).unwrap().trim(), 16)
                .unwrap();
            if n == 0 {
                break;
            }
            out.extend_from_slice(&rest[nl + 2..nl + 2 + n]);
            rest = &rest[nl + 2 + n + 2..];
        }
        body = out;
    }
    HttpResponse {
        status,
        headers: hm,
        body,
    }
}

pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Valid claims for `widget`, with a fresh jti.
pub fn claims(widget: &str, sub: &str) -> Value {
    let now = now_secs();
    json!({
        "jti": format!("jti-{}", rand_hex()), "sub": sub, "stp": "email", "iss": widget,
        "iat": now, "exp": now + 300, "ski": "k1",
    })
}

pub fn rand_hex() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    format!("{:x}{:x}", now_secs(), N.fetch_add(1, Ordering::Relaxed)) + &format!("{:p}", &N)
}

pub fn sign(claims: &Value, key: &[u8]) -> String {
    livechat_server::jwt::sign_hs256(&json!({"alg": "HS256", "typ": "JWT"}), claims, key)
}

/// Authenticates `c` with a valid token for `sub`; returns (auth_ok, sync).
pub async fn auth(c: &mut Client, widget: &str, sub: &str, req: &str) -> (Value, Value) {
    let jwt = sign(&claims(widget, sub), KEY1);
    c.send(json!({"type": "auth", "req": req, "jwt": jwt}))
        .await;
    let ok = c.recv_type_for(req).await;
    assert_eq!(ok["type"], "auth_ok", "auth failed: {ok}");
    let sync = c.recv().await;
    assert_eq!(sync["type"], "sync");
    (ok, sync)
}
pub mod pg;
