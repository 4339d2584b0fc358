//! `livechat-server --config <file.toml> --data-dir <dir> [--addr 127.0.0.1:8080] [--static-dir <dir>]`

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use livechat_server::config::Config;
use livechat_server::{start, ServerOptions};

const USAGE: &str = "usage: livechat-server --config <file.toml> --data-dir <dir> [--addr 127.0.0.1:8080] [--static-dir <dir>]";

fn parse_args() -> Result<(PathBuf, PathBuf, SocketAddr, Option<PathBuf>), String> {
    let mut config = None;
    let mut data_dir = None;
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
    let data_dir = data_dir.ok_or_else(|| format!("--data-dir is required\n{USAGE}"))?;
    Ok((config, data_dir, addr, static_dir))
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
    let (config_path, data_dir, addr, static_dir) = match parse_args() {
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
    let server = match start(ServerOptions {
        config,
        data_dir,
        addr,
        static_dir,
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
