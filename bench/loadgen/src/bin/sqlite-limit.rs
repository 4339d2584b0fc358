//! What SQLite itself reaches on this disk with the server's write policy (issue 11 §5):
//! WAL, `synchronous = FULL`, `temp_store = MEMORY`, a 64 MiB page cache, one
//! `BEGIN IMMEDIATE … COMMIT` (one fsync) per batch of `--batch` rows, one savepoint per row
//! as the server's group-commit writer does (`--no-savepoints` to leave them out), cached
//! prepared statements. Insert-only, in the data dir's file system (`--dir`, default the
//! system temp dir: on disk here).
//!
//! Table shapes (`--shape`, default all, each in a fresh database):
//! - `append`: one table, integer primary key in insert order, a ~200-byte row: every row
//!   lands on the last page.
//! - `random`: shaped like the schema before issue 11 §5: a rowid table with a random
//!   32-hex `id` UNIQUE and three more secondary indexes on random or per-entity keys
//!   (thread, principal + seq, request key), a row of the same size.
//! - `message`: what one visitor message writes in the current schema
//!   (`server/migrations/sqlite/`), for `--entities` active visitors each with one thread:
//!   the statements of `rules::send` minus its reads.
//! - `message-v2`: the same in the schema before issue 11 §5 (migrations V1 + V2: a unique
//!   index on the random message id, JSON copies of the message in its event and its
//!   idempotency row).
//!
//! Usage: sqlite-limit [--dir DIR] [--rows 200000] [--batch 256] [--seconds 20]
//!        [--shape append|random|message-v2|message|all] [--entities 100] [--no-savepoints]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use rusqlite::{params, Connection};

struct Args {
    dir: PathBuf,
    rows: u64,
    batch: u64,
    seconds: u64,
    shapes: Vec<String>,
    entities: u64,
    savepoints: bool,
    page_size: u64,
    bg_checkpoint: bool,
}

fn parse_args() -> Args {
    let mut a = Args {
        dir: std::env::temp_dir(),
        rows: 200_000,
        batch: 256,
        seconds: 20,
        shapes: vec!["append".into(), "random".into(), "message-v2".into(), "message".into()],
        entities: 100,
        savepoints: true,
        page_size: 4096,
        bg_checkpoint: false,
    };
    let v: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < v.len() {
        let val = v.get(i + 1).cloned().unwrap_or_default();
        let num = || val.parse::<u64>().unwrap_or_else(|_| panic!("{} needs a number", v[i]));
        match v[i].as_str() {
            "--dir" => a.dir = PathBuf::from(&val),
            "--rows" => a.rows = num(),
            "--batch" => a.batch = num().max(1),
            "--seconds" => a.seconds = num(),
            "--entities" => a.entities = num().max(1),
            "--shape" if val == "all" => {}
            "--shape" => a.shapes = vec![val.clone()],
            "--page-size" => a.page_size = num(),
            "--bg-checkpoint" => {
                a.bg_checkpoint = true;
                i += 1;
                continue;
            }
            "--no-savepoints" => {
                a.savepoints = false;
                i += 1;
                continue;
            }
            other => panic!("unknown option {other}"),
        }
        i += 2;
    }
    a
}

/// The server's connection settings (server/src/store/sqlite.rs, `open_conn`).
fn open(path: &std::path::Path, page_size: u64) -> Connection {
    let c = Connection::open(path).unwrap();
    c.pragma_update(None, "page_size", page_size as i64).unwrap();
    c.pragma_update(None, "journal_mode", "WAL").unwrap();
    c.pragma_update(None, "synchronous", "FULL").unwrap();
    c.pragma_update(None, "temp_store", "MEMORY").unwrap();
    c.pragma_update(None, "cache_size", -64 * 1024).unwrap();
    c.set_prepared_statement_cache_capacity(64);
    c
}

/// xorshift64*: cheap random keys without a dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn hex32(&mut self) -> String {
        format!("{:016x}{:016x}", self.next(), self.next())
    }
}

const BODY: &str = "{\"id\":\"0123456789abcdef0123456789abcdef\",\"thread_id\":\"0123456789abcdef0123456789abcdef\",\"client_id\":\"lg-1-1\",\"author\":\"visitor\",\"text\":\"load message 1\",\"created_at\":1764633600000}";

fn schema(c: &Connection, shape: &str) {
    let sql = match shape {
        "append" => "CREATE TABLE t(n INTEGER PRIMARY KEY, thread_id TEXT NOT NULL, body TEXT NOT NULL, created_at INTEGER NOT NULL);",
        "random" => {
            "CREATE TABLE t(n INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, thread_id TEXT NOT NULL, \
               principal_id TEXT NOT NULL, seq INTEGER NOT NULL, req TEXT NOT NULL, body TEXT NOT NULL, created_at INTEGER NOT NULL);
             CREATE INDEX t_thread ON t(thread_id, n);
             CREATE INDEX t_principal ON t(principal_id, seq);
             CREATE INDEX t_req ON t(principal_id, req);"
        }
        "message" | "message-v2" => {
            let mut s = String::new();
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../server/migrations/sqlite");
            let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().map(|e| e.path()).collect();
            // V<n>__name.sql, in version order.
            files.sort_by_key(|p| {
                let n = p.file_name().unwrap().to_string_lossy().to_string();
                n[1..].split("__").next().unwrap().parse::<u32>().unwrap_or(0)
            });
            for p in files {
                let v: u32 = p.file_name().unwrap().to_string_lossy()[1..].split("__").next().unwrap().parse().unwrap_or(0);
                if shape == "message-v2" && v > 2 {
                    continue;
                }
                s.push_str(&std::fs::read_to_string(p).unwrap());
                s.push('\n');
            }
            assert!(!s.is_empty(), "server/migrations/sqlite not found");
            return c.execute_batch(&s).unwrap();
        }
        other => panic!("unknown shape {other}"),
    };
    c.execute_batch(sql).unwrap();
}

/// The ids of the `message` shape's visitors and their threads.
struct Entity {
    principal: String,
    thread: String,
    seq: u64,
}

fn setup_entities(c: &Connection, rng: &mut Rng, n: u64) -> Vec<Entity> {
    // Old and new schemas alike: principals(id, widget_id, kind, created_at) and
    // threads(id, widget_id, principal_id, status, created_at, last_activity_at, updated_at).
    let mut v = Vec::new();
    c.execute_batch("BEGIN").unwrap();
    for _ in 0..n {
        let e = Entity { principal: new_id(rng), thread: new_id(rng), seq: 0 };
        c.execute(
            "INSERT INTO principals(id, widget_id, kind, created_at) VALUES (?1, 'w', 'visitor', 1)",
            params![e.principal],
        )
        .unwrap();
        c.execute(
            "INSERT INTO threads(id, widget_id, principal_id, status, created_at, last_activity_at, updated_at) \
             VALUES (?1, 'w', ?2, 'OPEN', 1, 1, 1)",
            params![e.thread, e.principal],
        )
        .unwrap();
        v.push(e);
    }
    c.execute_batch("COMMIT").unwrap();
    v
}

/// Ids as the server makes them (`util::new_id` when it exists: time-ordered; else random).
fn new_id(rng: &mut Rng) -> String {
    rng.hex32()
}

/// One row of `shape`.
fn insert(c: &Connection, shape: &str, rng: &mut Rng, n: u64, ents: &mut [Entity]) {
    match shape {
        "append" => {
            c.prepare_cached("INSERT INTO t(n, thread_id, body, created_at) VALUES (?1, ?2, ?3, ?4)")
                .unwrap()
                .execute(params![n as i64, "0123456789abcdef0123456789abcdef", BODY, n as i64])
                .unwrap();
        }
        "random" => {
            let p = rng.hex32();
            c.prepare_cached(
                "INSERT INTO t(id, thread_id, principal_id, seq, req, body, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )
            .unwrap()
            .execute(params![rng.hex32(), rng.hex32(), p, n as i64, format!("lg-{n}"), BODY, n as i64])
            .unwrap();
        }
        "message" => message_row(c, rng, n, &mut ents[(n % ents.len() as u64) as usize]),
        "message-v2" => message_v2_row(c, rng, n, &mut ents[(n % ents.len() as u64) as usize]),
        _ => unreachable!(),
    }
}

/// The same before V3 (the schema of V1 + V2): JSON copies in the event and the request.
fn message_v2_row(c: &Connection, rng: &mut Rng, n: u64, e: &mut Entity) {
    e.seq += 1;
    let now = 1_764_633_600_000 + n as i64;
    let id = new_id(rng);
    let req = format!("lg-{n}");
    c.prepare_cached(
        "INSERT INTO messages(id, thread_id, client_id, author, text, custom, created_at) VALUES (?1, ?2, ?3, 'visitor', ?4, 0, ?5)",
    )
    .unwrap()
    .execute(params![id, e.thread, req, format!("load message {n}"), now])
    .unwrap();
    c.prepare_cached("UPDATE threads SET last_activity_at = ?2, updated_at = ?2 WHERE id = ?1")
        .unwrap()
        .execute(params![e.thread, now])
        .unwrap();
    c.prepare_cached("UPDATE principals SET head_seq = head_seq + 1 WHERE id = ?1")
        .unwrap()
        .execute(params![e.principal])
        .unwrap();
    c.prepare_cached("INSERT INTO events(principal_id, seq, body, created_at) VALUES (?1, ?2, ?3, ?4)")
        .unwrap()
        .execute(params![e.principal, e.seq as i64, BODY, now])
        .unwrap();
    c.prepare_cached(
        "INSERT INTO requests(principal_id, req, kind, body_hash, response, created_at) VALUES (?1, ?2, 'send', ?3, ?4, ?5)",
    )
    .unwrap()
    .execute(params![e.principal, req, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", BODY, now])
    .unwrap();
}

/// The writes of one visitor message (`rules::send` without its reads), current schema:
/// the event and the idempotency row refer to the message row.
fn message_row(c: &Connection, rng: &mut Rng, n: u64, e: &mut Entity) {
    e.seq += 1;
    let now = 1_764_633_600_000 + n as i64;
    let id = new_id(rng);
    let req = format!("lg-{n}");
    c.prepare_cached(
        "INSERT INTO messages(id, thread_id, client_id, author, text, custom, created_at) VALUES (?1, ?2, ?3, 'visitor', ?4, 0, ?5)",
    )
    .unwrap()
    .execute(params![id, e.thread, req, format!("load message {n}"), now])
    .unwrap();
    let m = c.last_insert_rowid();
    c.prepare_cached("UPDATE threads SET last_activity_at = ?2, updated_at = ?2 WHERE id = ?1")
        .unwrap()
        .execute(params![e.thread, now])
        .unwrap();
    c.prepare_cached("UPDATE principals SET head_seq = head_seq + 1 WHERE id = ?1")
        .unwrap()
        .execute(params![e.principal])
        .unwrap();
    c.prepare_cached("INSERT INTO events(principal_id, seq, message_n, created_at) VALUES (?1, ?2, ?3, ?4)")
        .unwrap()
        .execute(params![e.principal, e.seq as i64, m, now])
        .unwrap();
    c.prepare_cached(
        "INSERT INTO requests(principal_id, req, kind, body_hash, message_n, created_at) VALUES (?1, ?2, 'send', ?3, ?4, ?5)",
    )
    .unwrap()
    .execute(params![e.principal, req, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", m, now])
    .unwrap();
}

fn run(a: &Args, shape: &str) {
    let dir = a.dir.join(format!("sqlite-limit-{}-{shape}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bench.sqlite3");
    let c = open(&path, a.page_size);
    schema(&c, shape);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let ckpt = a.bg_checkpoint.then(|| {
        // The writer never checkpoints; another connection does, off the commit path.
        c.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
        let (p, stop) = (path.clone(), stop.clone());
        std::thread::spawn(move || {
            let r = open(&p, 4096);
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let _ = r.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
                std::thread::sleep(Duration::from_millis(50));
            }
        })
    });
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut ents = if shape.starts_with("message") { setup_entities(&c, &mut rng, a.entities) } else { Vec::new() };
    let deadline = Instant::now() + Duration::from_secs(a.seconds);
    let t0 = Instant::now();
    let mut n = 0u64;
    let mut commits = 0u64;
    let mut commit_time = Duration::ZERO;
    let mut last_half = (Instant::now(), 0u64);
    while n < a.rows && Instant::now() < deadline {
        c.execute_batch("BEGIN IMMEDIATE").unwrap();
        for _ in 0..a.batch.min(a.rows - n) {
            if a.savepoints {
                c.execute_batch("SAVEPOINT job").unwrap();
            }
            n += 1;
            insert(&c, shape, &mut rng, n, &mut ents);
            if a.savepoints {
                c.execute_batch("RELEASE job").unwrap();
            }
        }
        let tc = Instant::now();
        c.execute_batch("COMMIT").unwrap();
        commit_time += tc.elapsed();
        commits += 1;
        if n <= a.rows / 2 && t0.elapsed() < Duration::from_secs(a.seconds) / 2 {
            last_half = (Instant::now(), n);
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    let tail = last_half.0.elapsed().as_secs_f64();
    let wal = std::fs::metadata(dir.join("bench.sqlite3-wal")).map(|m| m.len()).unwrap_or(0);
    let db = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    if let Some(t) = ckpt {
        let _ = t.join();
    }
    drop(c);
    let _ = std::fs::remove_dir_all(&dir);
    println!(
        "| {shape:<10} | {n:>9} | {:>6} | {:>10.0} | {:>15.0} | {:>13.2} | {:>8.1} | {:>7.1} |",
        a.batch,
        n as f64 / secs,
        if tail > 0.0 { (n - last_half.1) as f64 / tail } else { f64::NAN },
        commit_time.as_secs_f64() * 1000.0 / commits.max(1) as f64,
        db as f64 / 1048576.0,
        wal as f64 / 1048576.0,
    );
}

fn main() {
    let a = parse_args();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "SQLite {} insert-only, WAL, synchronous=FULL, {} rows/commit, savepoint per row: {}, page size {}, checkpoints {}, {} entities, dir {} (load average {})\n",
        rusqlite::version(),
        a.batch,
        a.savepoints,
        a.page_size,
        if a.bg_checkpoint { "on another thread" } else { "automatic (on commit)" },
        a.entities,
        a.dir.display(),
        load.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
    );
    println!("| shape      |      rows |  batch |     rows/s | 2nd half rows/s | commit ms avg |   db MiB | wal MiB |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for s in &a.shapes {
        run(&a, s);
    }
}
