//! A throwaway PostgreSQL cluster for tests: `initdb` in a temp dir (as the `postgres` user
//! when running as root, since initdb refuses root), a free loopback port,
//! `pg_ctl -w start`; stopped (and its directory removed) on drop, or — for the cluster
//! shared by a test binary — by a watcher process when the test process exits.
//!
//! ```ignore
//! let url = common::pg::shared().fresh_database();   // one cluster per binary, a db per test
//! let own = common::pg::PgCluster::start();           // a cluster of the test's own
//! own.url("postgres"); own.port; own.stop(); own.restart();
//! ```
//! Fails loudly (panics with the reason) when PostgreSQL cannot start: these tests never skip.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

/// A running cluster.
pub struct PgCluster {
    /// Loopback port.
    pub port: u16,
    /// Data directory (inside `root`).
    pub data: PathBuf,
    root: PathBuf,
    bin: PathBuf,
    as_postgres: bool,
    keep_on_drop: bool,
}

fn bin_dir() -> PathBuf {
    if let Ok(d) = std::env::var("PG_BIN") {
        return PathBuf::from(d);
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.path().join("bin"))
                .filter(|p| p.join("initdb").exists())
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found.pop().unwrap_or_else(|| {
        panic!(
            "PostgreSQL not found: no /usr/lib/postgresql/*/bin/initdb (run scripts/setup.sh, \
             which installs Debian's postgresql, or set PG_BIN)"
        )
    })
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

impl PgCluster {
    fn cmd(&self, tool: &str) -> Command {
        let path = self.bin.join(tool);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        }
    }

    fn run(&self, tool: &str, args: &[&str]) {
        let out = self
            .cmd(tool)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("{tool}: {e}"));
        if !out.status.success() {
            panic!(
                "{tool} {args:?} failed: {}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }

    /// initdb + start on a free port.
    pub fn start() -> PgCluster {
        let bin = bin_dir();
        let as_postgres = is_root();
        let root = tempfile::Builder::new()
            .prefix("livechat-pg-")
            .tempdir()
            .expect("temp dir")
            .keep();
        if as_postgres {
            let ok = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&root)
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            assert!(ok, "chown {} to postgres failed (is there a postgres user?)", root.display());
        }
        let data = root.join("data");
        let mut c = PgCluster {
            port: 0,
            data,
            root,
            bin,
            as_postgres,
            keep_on_drop: false,
        };
        let d = c.data.to_string_lossy().to_string();
        c.run("initdb", &["-D", &d, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"]);
        c.start_server();
        c
    }

    fn start_server(&mut self) {
        // A port can be taken between probing and binding: try a few.
        let mut last = String::new();
        for _ in 0..5 {
            let port = free_port();
            let d = self.data.to_string_lossy().to_string();
            let sock = self.root.to_string_lossy().to_string();
            let opts = format!(
                "-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=200 \
                 -c shared_buffers=32MB"
            );
            let log = self.root.join("log").to_string_lossy().to_string();
            let out = self
                .cmd("pg_ctl")
                .args(["-D", &d, "-o", &opts, "-l", &log, "-w", "-t", "60", "start"])
                .stdin(Stdio::null())
                .output()
                .expect("pg_ctl");
            if out.status.success() {
                self.port = port;
                return;
            }
            last = format!(
                "{}{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
                std::fs::read_to_string(self.root.join("log")).unwrap_or_default()
            );
        }
        panic!("PostgreSQL did not start: {last}");
    }

    /// `postgres://postgres@127.0.0.1:PORT/db`.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// Runs SQL with `psql` on database `postgres`.
    pub fn psql(&self, sql: &str) {
        let port = self.port.to_string();
        self.run("psql", &["-h", "127.0.0.1", "-p", &port, "-U", "postgres", "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-qc", sql]);
    }

    /// A new empty database; returns its URL.
    pub fn fresh_database(&self) -> String {
        static N: AtomicUsize = AtomicUsize::new(0);
        let name = format!("t{}_{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed));
        self.psql(&format!("CREATE DATABASE {name}"));
        self.url(&name)
    }

    /// Stops the server (fast shutdown), keeping the data.
    pub fn stop(&self) {
        let d = self.data.to_string_lossy().to_string();
        self.run("pg_ctl", &["-D", &d, "-m", "fast", "-w", "stop"]);
    }

    /// Starts it again on the same port.
    pub fn restart(&self) {
        let d = self.data.to_string_lossy().to_string();
        let sock = self.root.to_string_lossy().to_string();
        let opts = format!("-p {} -k {sock} -c listen_addresses=127.0.0.1 -c max_connections=200", self.port);
        let log = self.root.join("log").to_string_lossy().to_string();
        self.run("pg_ctl", &["-D", &d, "-o", &opts, "-l", &log, "-w", "-t", "60", "start"]);
    }

    /// Stops the server and removes its directory when `pid` exits (a detached watcher).
    fn stop_when_exits(&mut self, pid: u32) {
        let pg_ctl = self.bin.join("pg_ctl");
        let stop = format!(
            "{}{} -D {} -m immediate stop",
            if self.as_postgres { "runuser -u postgres -- " } else { "" },
            pg_ctl.display(),
            self.data.display()
        );
        let script = format!(
            "while [ -d /proc/{pid} ]; do sleep 0.5; done; {stop} >/dev/null 2>&1; rm -rf {}",
            self.root.display()
        );
        Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("watcher");
        self.keep_on_drop = true;
    }

    /// Root of the temp dir.
    pub fn root(&self) -> &Path {
        &self.root
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        if self.keep_on_drop {
            return;
        }
        let d = self.data.to_string_lossy().to_string();
        let _ = self
            .cmd("pg_ctl")
            .args(["-D", &d, "-m", "immediate", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// The cluster shared by the tests of this binary (started on first use, stopped when the
/// test process exits). Give each test its own [`PgCluster::fresh_database`].
pub fn shared() -> &'static PgCluster {
    static CLUSTER: OnceLock<PgCluster> = OnceLock::new();
    CLUSTER.get_or_init(|| {
        let mut c = PgCluster::start();
        c.stop_when_exits(std::process::id());
        c
    })
}
