//! Load generator for the live-chat server (issue 6, item 5). Loopback only, bounded in
//! connection count and time.
//!
//! 1. Opens `--conns` widget websockets (`hello` per protocol/src/lib.rs, then waits for
//!    `welcome`), spread over `--sources` client addresses 127.0.0.2… so one address's
//!    ephemeral ports are not the limit. Reports how many are held open after a settle
//!    period, and the server's VmRSS (/proc/<pid>/status) before and after: RSS per socket.
//! 2. Durable messages/s: `--senders` of those sockets send BASIC messages back to back
//!    (`--window` in flight each) for `--seconds`; every `ack` means the server committed
//!    the message. Reports messages/s and ack latency p50/p99.
//! 3. Fan-out to agents (unless `--agent-token none`): an agent event stream
//!    (`/v1/agent/events`, docs/agent-api.md) is open during phase 2; the time from each
//!    `send` to the stream's `message` event with that client id gives p50/p95/p99. Then
//!    `--replies` agent replies (HTTP POST, one at a time) to the senders' conversations,
//!    timed from the request to the widget socket receiving the `message` event.
//!
//! Several nodes: `--url ws://…:P1/v1/ws,ws://…:P2/v1/ws` spreads the sockets round robin
//! (the agent stream and replies use the first node, so send → agent crosses nodes) and
//! `--pid P1,P2` sums their RSS. Several generators at once: `--source-base` gives each its
//! own client addresses, `--hold SECS` keeps the idle sockets open after phase 1.
//!
//! Usage: livechat-loadgen --url ws://127.0.0.1:PORT/v1/ws[,…] --widget ID [--pid SERVER_PID[,…]]
//!        [--source-base 2] [--hold 0]
//!        [--conns 10000] [--sources 8] [--senders 100] [--window 1] [--seconds 10]
//!        [--time-limit 300] [--agent-token bench-agent-token-0123456789] [--replies 200]

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpSocket;
use tokio::sync::{mpsc, Semaphore};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

struct Args {
    /// One or more nodes (`--url a,b,c`): sockets are spread over them round robin; the
    /// agent stream and replies use the first.
    urls: Vec<String>,
    widget: String,
    /// Server processes whose RSS is read (`--pid p1,p2,…`, one per node).
    pids: Vec<u32>,
    /// First client address is 127.0.0.<source_base> (several generators: distinct ranges).
    source_base: u8,
    /// Keep the idle sockets this many seconds after phase 1 (several generators at once).
    hold: u64,
    conns: usize,
    sources: u8,
    senders: usize,
    window: usize,
    seconds: u64,
    time_limit: u64,
    connect_parallel: usize,
    /// Agent token for the event stream and replies; `None` skips phase 3.
    agent_token: Option<String>,
    replies: usize,
}

fn parse_args() -> Args {
    let mut a = Args {
        urls: Vec::new(),
        widget: "85ea1938-f457-496d-8532-8fa489beea63".into(),
        pids: Vec::new(),
        source_base: 2,
        hold: 0,
        conns: 10_000,
        sources: 8,
        senders: 100,
        window: 1,
        seconds: 10,
        time_limit: 300,
        connect_parallel: 256,
        agent_token: Some("bench-agent-token-0123456789".into()),
        replies: 200,
    };
    let v: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < v.len() {
        let val = v.get(i + 1).cloned().unwrap_or_default();
        let num = || val.parse::<u64>().unwrap_or_else(|_| panic!("{} needs a number", v[i]));
        match v[i].as_str() {
            "--url" => a.urls = val.split(',').map(str::to_string).collect(),
            "--widget" => a.widget = val.clone(),
            "--pid" => a.pids = val.split(',').map(|p| p.parse().expect("--pid needs numbers")).collect(),
            "--source-base" => a.source_base = num().clamp(2, 250) as u8,
            "--hold" => a.hold = num(),
            "--conns" => a.conns = num() as usize,
            "--sources" => a.sources = num().clamp(1, 250) as u8,
            "--senders" => a.senders = num() as usize,
            "--window" => a.window = num().max(1) as usize,
            "--seconds" => a.seconds = num(),
            "--time-limit" => a.time_limit = num(),
            "--connect-parallel" => a.connect_parallel = num().max(1) as usize,
            "--agent-token" => a.agent_token = Some(val.clone()).filter(|t| t != "none"),
            "--replies" => a.replies = num() as usize,
            other => panic!("unknown option {other}"),
        }
        i += 2;
    }
    assert!(!a.urls.is_empty(), "--url is required");
    for u in &a.urls {
        assert!(u.starts_with("ws://127.0.0.1:"), "--url must be ws://127.0.0.1:PORT/v1/ws (loopback only)");
    }
    assert!(a.source_base as usize + a.sources as usize <= 255, "--source-base + --sources must stay within 127.0.0.255");
    a
}

fn rss_kib(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines().find(|l| l.starts_with("VmRSS:"))?.split_whitespace().nth(1)?.parse().ok()
}

/// Summed VmRSS of the server processes (`None` without `--pid` or when one is gone).
fn rss_all(pids: &[u32]) -> Option<u64> {
    if pids.is_empty() {
        return None;
    }
    pids.iter().map(|&p| rss_kib(p)).sum()
}

fn addr_of(url: &str) -> SocketAddr {
    url["ws://".len()..].split('/').next().unwrap().parse().expect("server address")
}

type Ws = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

fn ws_config() -> WebSocketConfig {
    // Small client buffers: the generator must not need more memory than the server.
    let mut c = WebSocketConfig::default();
    c.read_buffer_size = 4096;
    c.write_buffer_size = 0;
    c
}

async fn connect(url: &str, server: SocketAddr, source: Ipv4Addr, widget: &str) -> Result<Ws, String> {
    let sock = TcpSocket::new_v4().map_err(|e| format!("socket: {e}"))?;
    sock.bind(SocketAddr::V4(SocketAddrV4::new(source, 0))).map_err(|e| format!("bind {source}: {e}"))?;
    let stream = sock.connect(server).await.map_err(|e| format!("connect: {e}"))?;
    stream.set_nodelay(true).map_err(|e| format!("nodelay: {e}"))?;
    let (mut ws, _) = tokio_tungstenite::client_async_with_config(url, stream, Some(ws_config()))
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    let hello = serde_json::json!({"type": "hello", "protocol": 1, "widget_id": widget}).to_string();
    ws.send(Message::text(hello)).await.map_err(|e| format!("send hello: {e}"))?;
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => {
                let v: serde_json::Value = serde_json::from_str(t.as_str()).map_err(|e| format!("frame: {e}"))?;
                match v["type"].as_str() {
                    Some("welcome") => return Ok(ws),
                    Some("error") => return Err(format!("error frame: {t}")),
                    _ => {}
                }
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(format!("read: {e}")),
            None => return Err("closed before welcome".into()),
        }
    }
}

/// Send times of messages the agent stream has not reported yet, and of agent replies the
/// widget socket has not received yet, keyed by client id / reply text. Empty maps cost
/// nothing when phase 3 is off.
#[derive(Default)]
struct Probe {
    /// Whether senders record their send times (an agent stream is open).
    on: std::sync::atomic::AtomicBool,
    sent: std::sync::Mutex<HashMap<String, Instant>>,
    replies: std::sync::Mutex<HashMap<String, Instant>>,
    reply_lat: std::sync::Mutex<Vec<f64>>,
}

impl Probe {
    fn record_send(&self, req: &str, at: Instant) {
        if self.on.load(Ordering::Relaxed) {
            self.sent.lock().unwrap().insert(req.to_string(), at);
        }
    }

    /// A widget frame: when it is the `message` event of an agent reply we are timing.
    fn widget_frame(&self, text: &str) {
        if !text.contains(REPLY_MARK) {
            return;
        }
        let v: serde_json::Value = serde_json::from_str(text).unwrap_or_default();
        if let Some(t) = v["event"]["message"]["text"].as_str() {
            if let Some(t0) = self.replies.lock().unwrap().remove(t) {
                self.reply_lat.lock().unwrap().push(t0.elapsed().as_secs_f64() * 1000.0);
            }
        }
    }
}

/// Prefix of agent reply texts, so widget sockets only parse frames that may be replies.
const REPLY_MARK: &str = "lg-reply-";

/// Reads the agent event stream until `stop`; returns send → stream latencies (ms) and
/// whether the stream ended early.
async fn agent_stream(mut ws: Ws, probe: Arc<Probe>, mut stop: tokio::sync::oneshot::Receiver<()>) -> (Vec<f64>, bool) {
    let mut lat = Vec::new();
    loop {
        tokio::select! {
            _ = &mut stop => return (lat, false),
            frame = ws.next() => match frame {
                Some(Ok(Message::Text(t))) => {
                    let at = Instant::now();
                    let v: serde_json::Value = serde_json::from_str(t.as_str()).unwrap_or_default();
                    if v["type"] == "message" && v["message"]["author"] == "visitor" {
                        if let Some(c) = v["message"]["client_id"].as_str() {
                            if let Some(t0) = probe.sent.lock().unwrap().remove(c) {
                                lat.push(at.duration_since(t0).as_secs_f64() * 1000.0);
                            }
                        }
                    }
                }
                Some(Ok(Message::Close(f))) => {
                    eprintln!("agent stream closed by the server: {f:?}");
                    return (lat, true);
                }
                Some(Ok(_)) => {}
                _ => return (lat, true),
            },
        }
    }
}

/// Opens the agent event stream and waits for its `ready` frame.
async fn connect_agent(server: SocketAddr, token: &str) -> Result<Ws, String> {
    let stream = tokio::net::TcpStream::connect(server).await.map_err(|e| format!("connect: {e}"))?;
    stream.set_nodelay(true).map_err(|e| format!("nodelay: {e}"))?;
    let url = format!("ws://{server}/v1/agent/events?token={token}");
    let (mut ws, _) = tokio_tungstenite::client_async(url, stream).await.map_err(|e| format!("agent handshake: {e}"))?;
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) if t.as_str().contains("\"ready\"") => return Ok(ws),
            Some(Ok(_)) => {}
            other => return Err(format!("agent stream before ready: {other:?}")),
        }
    }
}

/// One agent reply over HTTP/1.1 (`Connection: close`); true on `201`.
async fn post_reply(server: SocketAddr, token: &str, thread: &str, text: &str) -> Result<(), String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let body = serde_json::json!({ "text": text }).to_string();
    let req = format!(
        "POST /v1/conversations/{thread}/messages HTTP/1.1\r\nHost: {server}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut s = tokio::net::TcpStream::connect(server).await.map_err(|e| format!("connect: {e}"))?;
    s.write_all(req.as_bytes()).await.map_err(|e| format!("write: {e}"))?;
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).await.map_err(|e| format!("read: {e}"))?;
    let head = String::from_utf8_lossy(&resp[..resp.len().min(64)]).to_string();
    if head.starts_with("HTTP/1.1 201") { Ok(()) } else { Err(format!("reply refused: {head}")) }
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// What a held socket is told to do.
enum Cmd {
    /// Send `n` messages back to back, `window` in flight, until `deadline`; report latencies.
    /// Also reports the socket's conversation (from its acks) for agent replies.
    Send { deadline: Instant, window: usize, tx: mpsc::UnboundedSender<(Vec<f64>, Option<String>)> },
}

async fn hold(mut ws: Ws, id: usize, mut cmds: mpsc::UnboundedReceiver<Cmd>, open: Arc<AtomicUsize>, probe: Arc<Probe>) {
    let mut seq: u64 = 0;
    let mut thread: Option<String> = None;
    loop {
        tokio::select! {
            frame = ws.next() => match frame {
                Some(Ok(Message::Text(t))) => probe.widget_frame(t.as_str()),
                Some(Ok(_)) => {}
                _ => break,
            },
            cmd = cmds.recv() => match cmd {
                Some(Cmd::Send { deadline, window, tx }) => {
                    let mut lat = Vec::new();
                    let mut inflight: HashMap<String, Instant> = HashMap::new();
                    let mut failed = false;
                    while !failed && (Instant::now() < deadline || !inflight.is_empty()) {
                        while Instant::now() < deadline && inflight.len() < window {
                            seq += 1;
                            let req = format!("lg-{id}-{seq}");
                            let f = serde_json::json!({"type": "send", "req": req, "body": {"kind": "BASIC", "text": format!("load message {seq}")}}).to_string();
                            let now = Instant::now();
                            probe.record_send(&req, now);
                            inflight.insert(req, now);
                            if ws.send(Message::text(f)).await.is_err() { failed = true; break; }
                        }
                        match tokio::time::timeout(Duration::from_secs(10), ws.next()).await {
                            Ok(Some(Ok(Message::Text(t)))) => {
                                let v: serde_json::Value = serde_json::from_str(t.as_str()).unwrap_or_default();
                                if v["type"] == "ack" {
                                    if let Some(t) = v["message"]["thread_id"].as_str() {
                                        thread.get_or_insert_with(|| t.to_string());
                                    }
                                    if let Some(t0) = v["req"].as_str().and_then(|r| inflight.remove(r)) {
                                        lat.push(t0.elapsed().as_secs_f64() * 1000.0);
                                    }
                                } else if v["type"] == "event" {
                                    probe.widget_frame(t.as_str());
                                } else if v["type"] == "error" {
                                    eprintln!("error frame: {t}");
                                    failed = true;
                                }
                            }
                            Ok(Some(Ok(_))) => {}
                            _ => failed = true,
                        }
                    }
                    let _ = tx.send((lat, thread.clone()));
                    if failed { break; }
                }
                None => break,
            },
        }
    }
    open.fetch_sub(1, Ordering::Relaxed);
}

#[tokio::main]
async fn main() {
    let a = parse_args();
    let started = Instant::now();
    let hard_stop = Duration::from_secs(a.time_limit);
    let server = addr_of(&a.urls[0]);
    let targets: Vec<(String, SocketAddr)> = a.urls.iter().map(|u| (u.clone(), addr_of(u))).collect();
    let rss0 = rss_all(&a.pids);

    // ---- 1. idle sockets ----
    let open = Arc::new(AtomicUsize::new(0));
    let probe = Arc::new(Probe::default());
    let failures = Arc::new(AtomicU64::new(0));
    let first_error: Arc<std::sync::Mutex<Option<String>>> = Arc::default();
    let sem = Arc::new(Semaphore::new(a.connect_parallel));
    let (ctl_tx, mut ctl_rx) = mpsc::unbounded_channel::<mpsc::UnboundedSender<Cmd>>();
    let t_connect = Instant::now();
    let mut joins = Vec::with_capacity(a.conns);
    for i in 0..a.conns {
        let permit = sem.clone().acquire_owned().await.unwrap();
        if started.elapsed() > hard_stop / 2 || failures.load(Ordering::Relaxed) > 1000 {
            break;
        }
        let (url, node) = targets[i % targets.len()].clone();
        let widget = a.widget.clone();
        let source = Ipv4Addr::new(127, 0, 0, a.source_base + (i % a.sources as usize) as u8);
        let (open2, failures2, first_error, ctl_tx) = (open.clone(), failures.clone(), first_error.clone(), ctl_tx.clone());
        let probe = probe.clone();
        joins.push(tokio::spawn(async move {
            let r = tokio::time::timeout(Duration::from_secs(20), connect(&url, node, source, &widget)).await;
            drop(permit);
            match r {
                Ok(Ok(ws)) => {
                    open2.fetch_add(1, Ordering::Relaxed);
                    let (tx, rx) = mpsc::unbounded_channel();
                    let _ = ctl_tx.send(tx);
                    hold(ws, i, rx, open2, probe).await;
                }
                Ok(Err(e)) => {
                    failures2.fetch_add(1, Ordering::Relaxed);
                    first_error.lock().unwrap().get_or_insert(e);
                }
                Err(_) => {
                    failures2.fetch_add(1, Ordering::Relaxed);
                    first_error.lock().unwrap().get_or_insert_with(|| "timeout (20 s)".into());
                }
            }
        }));
        if (i + 1) % 5000 == 0 {
            eprintln!("{} connecting, {} open, {} failed", i + 1, open.load(Ordering::Relaxed), failures.load(Ordering::Relaxed));
        }
    }
    // Wait for the handshakes in flight.
    let _ = sem.acquire_many(a.connect_parallel as u32).await.unwrap();
    let connect_secs = t_connect.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let held = open.load(Ordering::Relaxed);
    let rss1 = rss_all(&a.pids);
    let mut controls = Vec::new();
    while let Ok(c) = ctl_rx.try_recv() {
        controls.push(c);
    }

    println!(
        "\nIdle widget sockets ({} node(s), {} source addresses 127.0.0.{}–127.0.0.{})\n",
        targets.len(),
        a.sources,
        a.source_base,
        a.source_base as usize + a.sources as usize - 1
    );
    println!("{:<40} {:>14}", "metric", "value");
    println!("{:<40} {:>14}", "attempted", a.conns);
    println!("{:<40} {:>14}", "held open after 3 s settle", held);
    println!("{:<40} {:>14}", "failed", failures.load(Ordering::Relaxed));
    println!("{:<40} {:>14.1}", "connect time, s", connect_secs);
    let per_conn = match (rss0, rss1) {
        (Some(r0), Some(r1)) if held > 0 => {
            println!("{:<40} {:>14}", "server VmRSS before, KiB (all nodes)", r0);
            println!("{:<40} {:>14}", "server VmRSS with sockets, KiB (all)", r1);
            let p = (r1.saturating_sub(r0)) as f64 / held as f64;
            println!("{:<40} {:>14.2}", "server RSS per socket, KiB", p);
            Some(p)
        }
        _ => None,
    };
    if let Some(e) = first_error.lock().unwrap().as_ref() {
        println!("first failure: {e}");
    }
    if a.hold > 0 {
        println!("holding {held} sockets for {} s", a.hold);
        let hold = Duration::from_secs(a.hold).min(hard_stop.saturating_sub(started.elapsed()));
        tokio::time::sleep(hold).await;
        println!("{:<40} {:>14}", "still open after the hold", open.load(Ordering::Relaxed));
    }

    // ---- 2. durable messages/s ----
    let senders = a.senders.min(controls.len());
    let remaining = hard_stop.saturating_sub(started.elapsed());
    let secs = Duration::from_secs(a.seconds).min(remaining.saturating_sub(Duration::from_secs(15)));
    let mut lat: Vec<f64> = Vec::new();
    let mut rate = 0.0;
    let mut threads: Vec<String> = Vec::new();
    // ---- 3a. agent stream open during phase 2 ----
    let mut agent = None;
    if let (Some(token), true) = (a.agent_token.clone(), senders > 0) {
        match connect_agent(server, &token).await {
            Ok(ws) => {
                // The first agent turns the widget online: the server stores an availability
                // event per connected visitor. Let that settle before measuring.
                tokio::time::sleep(Duration::from_secs(2)).await;
                probe.on.store(true, Ordering::Relaxed);
                let (stop_tx, stop_rx) = tokio::sync::oneshot::channel();
                agent = Some((stop_tx, tokio::spawn(agent_stream(ws, probe.clone(), stop_rx))));
            }
            Err(e) => eprintln!("no agent stream: {e}"),
        }
    }
    if senders > 0 && !secs.is_zero() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let t0 = Instant::now();
        let deadline = t0 + secs;
        // Spread senders over the held sockets (distinct visitors).
        let stride = (controls.len() / senders).max(1);
        for c in controls.iter().step_by(stride).take(senders) {
            let _ = c.send(Cmd::Send { deadline, window: a.window, tx: tx.clone() });
        }
        drop(tx);
        let mut got = 0;
        while got < senders {
            match tokio::time::timeout(Duration::from_secs(30), rx.recv()).await {
                Ok(Some((l, thread))) => {
                    lat.extend(l);
                    threads.extend(thread);
                    got += 1;
                }
                _ => break,
            }
        }
        let elapsed = t0.elapsed().as_secs_f64();
        rate = lat.len() as f64 / elapsed;
        lat.sort_by(|x, y| x.partial_cmp(y).unwrap());
        println!("\nDurable messages ({senders} senders × window {}, {:.1} s)\n", a.window, elapsed);
        println!("{:<40} {:>14}", "metric", "value");
        println!("{:<40} {:>14}", "messages acked", lat.len());
        println!("{:<40} {:>14.0}", "messages/s", rate);
        println!("{:<40} {:>14.2}", "ack latency p50, ms", pct(&lat, 50.0));
        println!("{:<40} {:>14.2}", "ack latency p99, ms", pct(&lat, 99.0));
        println!("{:<40} {:>14.2}", "ack latency max, ms", lat.last().copied().unwrap_or(f64::NAN));
    }
    // ---- 3. fan-out latency ----
    if let Some((stop, task)) = agent {
        // Let the stream catch up with the last acks.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let _ = stop.send(());
        let (mut fan, ended) = task.await.unwrap_or_default();
        let missed = probe.sent.lock().unwrap().len();
        fan.sort_by(|x, y| x.partial_cmp(y).unwrap());
        println!("\nFan-out to the agent stream (send → agent `message` event)\n");
        println!("{:<40} {:>14}", "metric", "value");
        println!("{:<40} {:>14}", "messages seen by the agent", fan.len());
        println!("{:<40} {:>14}", "sent but not seen", missed);
        if ended {
            println!("{:<40} {:>14}", "agent stream ended early", "yes");
        }
        for p in [50.0, 95.0, 99.0] {
            println!("{:<40} {:>14.2}", format!("send → agent p{p}, ms"), pct(&fan, p));
        }
        if let (Some(token), true) = (a.agent_token.as_deref(), a.replies > 0 && !threads.is_empty()) {
            let mut failed = 0;
            for k in 0..a.replies {
                let text = format!("{REPLY_MARK}{k}");
                probe.replies.lock().unwrap().insert(text.clone(), Instant::now());
                if let Err(e) = post_reply(server, token, &threads[k % threads.len()], &text).await {
                    failed += 1;
                    if failed == 1 {
                        eprintln!("{e}");
                    }
                }
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
            let mut rl = probe.reply_lat.lock().unwrap().clone();
            rl.sort_by(|x, y| x.partial_cmp(y).unwrap());
            println!("\nAgent reply → widget socket ({} replies one at a time, HTTP POST with a new connection each)\n", a.replies);
            println!("{:<40} {:>14}", "metric", "value");
            println!("{:<40} {:>14}", "received by the widget", rl.len());
            println!("{:<40} {:>14}", "POST failed", failed);
            for p in [50.0, 95.0, 99.0] {
                println!("{:<40} {:>14.2}", format!("reply → widget p{p}, ms"), pct(&rl, p));
            }
        }
    }
    println!(
        "\nfor docs/performance.md:\n| {} attempted | {} held | {} KiB RSS/socket | {:.0} durable msg/s ({} senders × {}) | ack p50 {:.2} / p99 {:.2} ms |",
        a.conns,
        held,
        per_conn.map(|p| format!("{p:.2}")).unwrap_or_else(|| "?".into()),
        rate,
        senders,
        a.window,
        pct(&lat, 50.0),
        pct(&lat, 99.0)
    );
    // Dropping the runtime closes every socket.
    std::process::exit(0);
}
