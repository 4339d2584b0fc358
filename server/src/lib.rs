//! Reference backend of the live-chat widget: widget configuration over HTTP, the visitor
//! websocket (`/v1/ws`), an SQLite store, and the agent / integration API.
//!
//! `docs/server.md` describes the CLI, the configuration and the limits;
//! `docs/agent-api.md` the agent API.

pub mod agent;
pub mod cluster;
pub mod config;
pub mod http;
pub mod hub;
pub mod jwt;
pub mod static_files;
pub mod store;
pub mod util;
pub mod validate;
pub mod ws;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::routing::{get, post};
use axum::Router;
use tokio::sync::watch;

use crate::config::{Config, WidgetSettings};
use crate::hub::Hub;
use crate::store::sqlite::SqliteStore;
use crate::store::{Done, Effects, Store, StoreError, StoreResult};

/// Shared server state.
pub struct App {
    /// The configuration.
    pub config: Config,
    /// Storage.
    pub store: Arc<dyn Store>,
    /// Socket registry (the store publishes committed events into it).
    pub hub: Arc<Hub>,
    /// Serializes agent presence changes with their availability events.
    presence_lock: Mutex<()>,
    /// Data directory (attachments live in `attachments/`).
    pub data_dir: PathBuf,
    /// Directory served at `/`.
    pub static_dir: Option<PathBuf>,
    /// Flips to true on shutdown.
    pub shutdown: watch::Receiver<bool>,
    next_conn: AtomicU64,
}

impl App {
    /// Runs blocking work (storage, decoding) off the async runtime.
    pub async fn blocking<T, F>(self: &Arc<Self>, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&App) -> StoreResult<T> + Send + 'static,
    {
        let app = self.clone();
        match tokio::task::spawn_blocking(move || f(&app)).await {
            Ok(r) => r,
            Err(e) => Err(StoreError::Internal(format!("task failed: {e}"))),
        }
    }

    /// Awaits a mutation handed to one of the store's `submit_*` methods. No thread waits:
    /// the store's group-commit writer completes it after the commit that made it durable.
    pub async fn submitted<T: Send + 'static>(
        &self,
        submit: impl FnOnce(&dyn Store, Done<T>),
    ) -> StoreResult<T> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        submit(
            &*self.store,
            Box::new(move |r| {
                let _ = tx.send(r);
            }),
        );
        rx.await
            .unwrap_or_else(|_| Err(StoreError::Internal("store dropped the request".into())))
    }

    /// Runs a mutation (its effects are published by the store after commit). Blocking.
    pub fn commit<T>(
        &self,
        f: impl FnOnce(&dyn Store) -> StoreResult<(T, Effects)>,
    ) -> StoreResult<T> {
        f(&*self.store).map(|(t, _)| t)
    }

    /// Whether agents count as online for `w` (spec 004).
    pub fn online(&self, w: &WidgetSettings) -> bool {
        w.agents_online || self.hub.agent_count() > 0
    }

    /// A fresh connection id.
    pub fn conn_id(&self) -> u64 {
        self.next_conn.fetch_add(1, Ordering::Relaxed)
    }

    /// Attachments directory.
    pub fn attachments_dir(&self) -> PathBuf {
        self.data_dir.join("attachments")
    }

    /// Adds or removes an agent socket and emits availability changes. Blocking.
    pub fn agent_presence(&self, up: bool) {
        let _g: MutexGuard<'_, ()> = self.presence_lock.lock().unwrap_or_else(|p| p.into_inner());
        let before = self.hub.agent_delta(up);
        let changed = if up { before == 0 } else { before == 1 };
        if !changed {
            return;
        }
        let now = util::now_ms();
        for w in &self.config.widgets {
            if w.agents_online {
                continue;
            }
            let principals = self.hub.connected_principals(&w.id);
            if principals.is_empty() {
                continue;
            }
            if let Err(e) = self.store.availability(&principals, up, now) {
                eprintln!("availability: {e}");
            }
        }
    }
}

/// How to start a server.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Configuration.
    pub config: Config,
    /// Data directory (SQLite database and attachments).
    pub data_dir: PathBuf,
    /// Address to bind (`127.0.0.1:0` picks a free port).
    pub addr: SocketAddr,
    /// Directory served at `/`.
    pub static_dir: Option<PathBuf>,
}

/// A started server.
pub struct RunningServer {
    /// The bound address.
    pub addr: SocketAddr,
    /// Shared state (tests peek at it).
    pub app: Arc<App>,
    shutdown_tx: watch::Sender<bool>,
    handle: tokio::task::JoinHandle<()>,
}

impl RunningServer {
    /// Stops accepting, closes sockets, and waits for the server task.
    pub async fn shutdown(self) {
        let _ = self.shutdown_tx.send(true);
        let _ = self.handle.await;
        // Give websocket tasks a moment to send their close frames.
        for _ in 0..50 {
            if self.app.hub.socket_count() == 0 && self.app.hub.agent_count() == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Asks the server to stop (used by the signal handler).
    pub fn stop_handle(&self) -> watch::Sender<bool> {
        self.shutdown_tx.clone()
    }

    /// Waits until the server task ends (after a stop request), then lets sockets close.
    pub async fn shutdown_when_stopped(self) {
        let _ = self.handle.await;
        for _ in 0..50 {
            if self.app.hub.socket_count() == 0 && self.app.hub.agent_count() == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// Builds the router.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/healthz", get(http::healthz))
        .route(
            "/v1/widgets/{id}/config",
            get(http::widget_config).options(http::widget_config_preflight),
        )
        .route("/v1/ws", get(ws::ws_handler))
        .route("/v1/attachments/{id}", get(http::attachment))
        .route(
            "/demo/jwt",
            post(http::demo_jwt).options(http::demo_jwt_preflight),
        )
        .route(
            "/v1/conversations",
            get(agent::list).options(agent::preflight),
        )
        .route(
            "/v1/conversations/{id}",
            get(agent::get_one).options(agent::preflight),
        )
        .route(
            "/v1/conversations/{id}/messages",
            get(agent::messages)
                .post(agent::reply)
                .options(agent::preflight),
        )
        .route(
            "/v1/conversations/{id}/status",
            post(agent::set_status).options(agent::preflight),
        )
        .route(
            "/v1/conversations/{id}/metadata",
            get(agent::metadata).options(agent::preflight),
        )
        .route("/v1/agent/events", get(agent::events))
        .fallback(static_files::serve)
        .with_state(app)
}

/// Opens the store, binds, and starts serving in the background.
pub async fn start(opts: ServerOptions) -> Result<RunningServer, String> {
    let dir = opts.data_dir.clone();
    let store = tokio::task::spawn_blocking(move || -> Result<SqliteStore, String> {
        std::fs::create_dir_all(dir.join("attachments")).map_err(|e| format!("data dir: {e}"))?;
        SqliteStore::open(&dir)
    })
    .await
    .map_err(|e| e.to_string())??;
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let hub = Arc::new(Hub::default());
    let publisher_hub = hub.clone();
    store.set_publisher(Arc::new(move |fx: &Effects| publisher_hub.publish(fx)));
    let app = Arc::new(App {
        config: opts.config,
        store: Arc::new(store),
        hub,
        presence_lock: Mutex::new(()),
        data_dir: opts.data_dir,
        static_dir: opts.static_dir,
        shutdown: shutdown_rx.clone(),
        next_conn: AtomicU64::new(1),
    });
    let listener = tokio::net::TcpListener::bind(opts.addr)
        .await
        .map_err(|e| format!("bind {}: {e}", opts.addr))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    use axum::serve::ListenerExt;
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    tokio::spawn(sweeper(app.clone(), shutdown_rx.clone()));
    let mut rx = shutdown_rx;
    let service = router(app.clone());
    let handle = tokio::spawn(async move {
        let server = axum::serve(listener, service).with_graceful_shutdown(async move {
            while !*rx.borrow() {
                if rx.changed().await.is_err() {
                    break;
                }
            }
        });
        if let Err(e) = server.await {
            eprintln!("server error: {e}");
        }
    });
    Ok(RunningServer {
        addr,
        app,
        shutdown_tx,
        handle,
    })
}

/// Closes inactive threads and forgets expired jtis / sessions, periodically.
async fn sweeper(app: Arc<App>, mut shutdown: watch::Receiver<bool>) {
    let period = Duration::from_millis(app.config.limits.sweep_interval_ms.max(10));
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut rounds: u64 = 0;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.changed() => return,
        }
        rounds += 1;
        let purge = rounds % 100 == 1;
        let r = app
            .blocking(move |app| {
                let now = util::now_ms();
                for w in &app.config.widgets {
                    let cutoff = now.saturating_sub(w.inactivity_ms());
                    app.commit(|s| Ok(((), s.close_inactive(&w.id, cutoff, now)?)))?;
                }
                if purge {
                    let idle = app
                        .config
                        .limits
                        .session_idle_timeout_secs
                        .saturating_mul(1000);
                    app.store.purge(now, idle)?;
                }
                Ok(())
            })
            .await;
        if let Err(e) = r {
            eprintln!("sweep: {e}");
        }
    }
}
