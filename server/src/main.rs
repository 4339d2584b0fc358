//! `livechat-server --config <file.toml> (--store sqlite:<dir> | --store postgres://… --data-dir <dir> | --data-dir <dir>) [--addr 127.0.0.1:8080] [--static-dir <dir>]`

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use livechat_server::config::Config;
use livechat_server::{start, ServerOptions, StoreSpec};

const USAGE: &str = "usage: livechat-server --config <file.toml> (--store sqlite:<dir> | --store postgres://user@host:port/db --data-dir <shared dir> | --data-dir <dir>) [--addr 127.0.0.1:8080] [--static-dir <dir>]";

type Args = (PathBuf, PathBuf, StoreSpec, SocketAddr, Option<PathBuf>);

/// `--store sqlite:DIR` = `--data-dir DIR`; `--store postgres://…` keeps the data in
/// PostgreSQL and attachments in `--data-dir`, a directory every node shares.
fn store_of(store: Option<String>, data_dir: Option<PathBuf>) -> Result<(PathBuf, StoreSpec), String> {
    match (store, data_dir) {
        (None, Some(d)) => Ok((d, StoreSpec::Sqlite)),
        (None, None) => Err(format!("--store or --data-dir is required\n{USAGE}")),
        (Some(s), d) => {
            if let Some(dir) = s.strip_prefix("sqlite:") {
                let dir = PathBuf::from(dir);
                match d {
                    Some(d) if d != dir => Err(format!("--store sqlite:{} and --data-dir {} disagree; give one", dir.display(), d.display())),
                    _ if dir.as_os_str().is_empty() => Err(format!("--store sqlite: needs a directory\n{USAGE}")),
                    _ => Ok((dir, StoreSpec::Sqlite)),
                }
            } else if s.starts_with("postgres://") || s.starts_with("postgresql://") {
                let d = d.ok_or_else(|| format!("--store postgres://… needs --data-dir for attachments (a directory every node shares)\n{USAGE}"))?;
                Ok((d, StoreSpec::Postgres(s)))
            } else {
                Err(format!("--store must be sqlite:<dir> or postgres://…\n{USAGE}"))
            }
        }
    }
}

fn parse_args() -> Result<Args, String> {
    let mut config = None;
    let mut data_dir = None;
    let mut store = None;
    let mut addr: SocketAddr = "127.0.0.1:8080".parse().expect("valid default address");
    let mut static_dir = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (a.clone(), None),
        };
        let mut value = |name: &str| {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{name} needs a value\n{USAGE}"))
        };
        match flag.as_str() {
            "--config" => config = Some(PathBuf::from(value("--config")?)),
            "--data-dir" => data_dir = Some(PathBuf::from(value("--data-dir")?)),
            "--store" => store = Some(value("--store")?),
            "--addr" => {
                addr = value("--addr")?
                    .parse()
                    .map_err(|e| format!("--addr: {e}"))?
            }
            "--static-dir" => static_dir = Some(PathBuf::from(value("--static-dir")?)),
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    let config = config.ok_or_else(|| format!("--config is required\n{USAGE}"))?;
    let (data_dir, store) = store_of(store, data_dir)?;
    Ok((config, data_dir, store, addr, static_dir))
}

/// Resolves on SIGINT or SIGTERM. Handlers are installed before this returns the future.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    #[cfg(unix)]
    let mut int = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()).ok();
    async move {
        #[cfg(unix)]
        {
            let t = async {
                match term.as_mut() {
                    Some(s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            let i = async {
                match int.as_mut() {
                    Some(s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                _ = t => {}
                _ = i => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[tokio::main]
async fn main() {
    let (config_path, data_dir, store, addr, static_dir) = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let config = match Config::load(&config_path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    if let Some(d) = &static_dir {
        if !d.is_dir() {
            eprintln!("--static-dir {}: not a directory", d.display());
            std::process::exit(2);
        }
    }
    let signal = shutdown_signal();
    // Nodes on one PostgreSQL are a cluster: events, presence and the sweeper's lock cross
    // nodes through its LISTEN/NOTIFY (server/src/cluster/, docs/deploy.md).
    let cluster = match &store {
        StoreSpec::Postgres(url) => Some(url.clone()),
        StoreSpec::Sqlite => None,
    };
    let server = match start(ServerOptions {
        config,
        data_dir,
        store,
        addr,
        static_dir,
        cluster,
    })
    .await
    {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "listening on http://{}", server.addr);
        let _ = out.flush();
    }
    let stop = server.stop_handle();
    tokio::spawn(async move {
        signal.await;
        eprintln!("shutting down");
        let _ = stop.send(true);
    });
    server.shutdown_when_stopped().await;
}
