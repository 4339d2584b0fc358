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
//!
//! Usage: livechat-loadgen --url ws://127.0.0.1:PORT/v1/ws --widget ID [--pid SERVER_PID]
//!        [--conns 10000] [--sources 8] [--senders 100] [--window 1] [--seconds 10]
//!        [--time-limit 300]

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
    url: String,
    widget: String,
    pid: Option<u32>,
    conns: usize,
    sources: u8,
    senders: usize,
    window: usize,
    seconds: u64,
    time_limit: u64,
    connect_parallel: usize,
}

fn parse_args() -> Args {
    let mut a = Args {
        url: String::new(),
        widget: "85ea1938-f457-496d-8532-8fa489beea63".into(),
        pid: None,
        conns: 10_000,
        sources: 8,
        senders: 100,
        window: 1,
        seconds: 10,
        time_limit: 300,
        connect_parallel: 256,
    };
    let v: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < v.len() {
        let val = v.get(i + 1).cloned().unwrap_or_default();
        let num = || val.parse::<u64>().unwrap_or_else(|_| panic!("{} needs a number", v[i]));
        match v[i].as_str() {
            "--url" => a.url = val.clone(),
            "--widget" => a.widget = val.clone(),
            "--pid" => a.pid = Some(num() as u32),
            "--conns" => a.conns = num() as usize,
            "--sources" => a.sources = num().clamp(1, 250) as u8,
            "--senders" => a.senders = num() as usize,
            "--window" => a.window = num().max(1) as usize,
            "--seconds" => a.seconds = num(),
            "--time-limit" => a.time_limit = num(),
            "--connect-parallel" => a.connect_parallel = num().max(1) as usize,
            other => panic!("unknown option {other}"),
        }
        i += 2;
    }
    assert!(a.url.starts_with("ws://127.0.0.1:"), "--url must be ws://127.0.0.1:PORT/v1/ws (loopback only)");
    a
}

fn rss_kib(pid: Option<u32>) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{}/status", pid?)).ok()?;
    s.lines().find(|l| l.starts_with("VmRSS:"))?.split_whitespace().nth(1)?.parse().ok()
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
    Send { deadline: Instant, window: usize, tx: mpsc::UnboundedSender<Vec<f64>> },
}

async fn hold(mut ws: Ws, id: usize, mut cmds: mpsc::UnboundedReceiver<Cmd>, open: Arc<AtomicUsize>) {
    let mut seq: u64 = 0;
    loop {
        tokio::select! {
            frame = ws.next() => match frame {
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
                            inflight.insert(req, Instant::now());
                            if ws.send(Message::text(f)).await.is_err() { failed = true; break; }
                        }
                        match tokio::time::timeout(Duration::from_secs(10), ws.next()).await {
                            Ok(Some(Ok(Message::Text(t)))) => {
                                let v: serde_json::Value = serde_json::from_str(t.as_str()).unwrap_or_default();
                                if v["type"] == "ack" {
                                    if let Some(t0) = v["req"].as_str().and_then(|r| inflight.remove(r)) {
                                        lat.push(t0.elapsed().as_secs_f64() * 1000.0);
                                    }
                                } else if v["type"] == "error" {
                                    eprintln!("error frame: {t}");
                                    failed = true;
                                }
                            }
                            Ok(Some(Ok(_))) => {}
                            _ => failed = true,
                        }
                    }
                    let _ = tx.send(lat);
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
    let server: SocketAddr = a.url["ws://".len()..].split('/').next().unwrap().parse().expect("server address");
    let rss0 = rss_kib(a.pid);

    // ---- 1. idle sockets ----
    let open = Arc::new(AtomicUsize::new(0));
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
        let (url, widget) = (a.url.clone(), a.widget.clone());
        let source = Ipv4Addr::new(127, 0, 0, 2 + (i % a.sources as usize) as u8);
        let (open2, failures2, first_error, ctl_tx) = (open.clone(), failures.clone(), first_error.clone(), ctl_tx.clone());
        joins.push(tokio::spawn(async move {
            let r = tokio::time::timeout(Duration::from_secs(20), connect(&url, server, source, &widget)).await;
            drop(permit);
            match r {
                Ok(Ok(ws)) => {
                    open2.fetch_add(1, Ordering::Relaxed);
                    let (tx, rx) = mpsc::unbounded_channel();
                    let _ = ctl_tx.send(tx);
                    hold(ws, i, rx, open2).await;
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
    let rss1 = rss_kib(a.pid);
    let mut controls = Vec::new();
    while let Ok(c) = ctl_rx.try_recv() {
        controls.push(c);
    }

    println!("\nIdle widget sockets ({} source addresses 127.0.0.2–127.0.0.{})\n", a.sources, 1 + a.sources);
    println!("{:<40} {:>14}", "metric", "value");
    println!("{:<40} {:>14}", "attempted", a.conns);
    println!("{:<40} {:>14}", "held open after 3 s settle", held);
    println!("{:<40} {:>14}", "failed", failures.load(Ordering::Relaxed));
    println!("{:<40} {:>14.1}", "connect time, s", connect_secs);
    let per_conn = match (rss0, rss1) {
        (Some(r0), Some(r1)) if held > 0 => {
            println!("{:<40} {:>14}", "server VmRSS before, KiB", r0);
            println!("{:<40} {:>14}", "server VmRSS with sockets, KiB", r1);
            let p = (r1.saturating_sub(r0)) as f64 / held as f64;
            println!("{:<40} {:>14.2}", "server RSS per socket, KiB", p);
            Some(p)
        }
        _ => None,
    };
    if let Some(e) = first_error.lock().unwrap().as_ref() {
        println!("first failure: {e}");
    }

    // ---- 2. durable messages/s ----
    let senders = a.senders.min(controls.len());
    let remaining = hard_stop.saturating_sub(started.elapsed());
    let secs = Duration::from_secs(a.seconds).min(remaining.saturating_sub(Duration::from_secs(15)));
    let mut lat: Vec<f64> = Vec::new();
    let mut rate = 0.0;
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
                Ok(Some(l)) => {
                    lat.extend(l);
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
