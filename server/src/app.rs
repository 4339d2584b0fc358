//! The running server: shared state ([`App`]), start-up, the sweeper, the demo auto-reply.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::watch;

use crate::cluster::Cluster;
use crate::config::{AutoReply, Config, WidgetSettings};
use crate::hub::Hub;
use crate::service::Service;
use crate::store::postgres::PostgresStore;
use crate::store::sqlite::SqliteStore;
use crate::store::{AgentEvent, Effects, Store, StoreError, StoreResult};
use crate::util;

/// Shared server state.
pub struct App {
    /// The configuration.
    pub config: Arc<Config>,
    /// The product's rules over the store.
    pub service: Service,
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
    /// Cluster membership (several nodes on one PostgreSQL), `None` when embedded.
    pub cluster: Option<Arc<Cluster>>,
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

    /// Whether agents count as online for `w` (spec 004).
    pub fn online(&self, w: &WidgetSettings) -> bool {
        Service::online(w, self.agents_connected())
    }

    /// Agent streams open (on any node of a cluster; a cluster answers 0 or 1).
    pub fn agents_connected(&self) -> usize {
        match &self.cluster {
            Some(c) => usize::from(c.agents_online()),
            None => self.hub.agent_count(),
        }
    }

    /// False while this node cannot reach its cluster's database, or is shutting down:
    /// it then refuses new sockets and sends (`/healthz` says 503).
    pub fn ready(&self) -> bool {
        !*self.shutdown.borrow() && self.cluster.as_ref().is_none_or(|c| c.ready())
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
        if let Some(c) = &self.cluster {
            // The cluster decides when the cluster-wide answer flips (presence hook below).
            c.agent_delta(up);
            return;
        }
        let changed = if up { before == 0 } else { before == 1 };
        if !changed {
            return;
        }
        let hub = &self.hub;
        if let Err(e) = self
            .service
            .availability_changed(|w| hub.connected_principals(w), up, util::now_ms())
        {
            eprintln!("availability: {e}");
        }
    }
}

/// Which database.
#[derive(Clone, PartialEq, Eq, Default)]
pub enum StoreSpec {
    /// Embedded SQLite in the data directory (`livechat.sqlite3`).
    #[default]
    Sqlite,
    /// PostgreSQL at this URL (`postgres://user@host:port/db`), shared by several nodes.
    Postgres(String),
}

impl std::fmt::Debug for StoreSpec {
    /// The URL may hold a password: never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreSpec::Sqlite => write!(f, "Sqlite"),
            StoreSpec::Postgres(_) => write!(f, "Postgres(<url>)"),
        }
    }
}

/// How to start a server.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Configuration.
    pub config: Config,
    /// Data directory: attachments (`attachments/`), and the SQLite database with
    /// [`StoreSpec::Sqlite`]. With PostgreSQL every node must share it.
    pub data_dir: PathBuf,
    /// The database.
    pub store: StoreSpec,
    /// Address to bind (`127.0.0.1:0` picks a free port).
    pub addr: SocketAddr,
    /// Directory served at `/`.
    pub static_dir: Option<PathBuf>,
    /// Join a cluster: the `postgres://` URL of the database the nodes share (its
    /// `LISTEN/NOTIFY` carries events across nodes, `server/src/cluster/`).
    pub cluster: Option<String>,
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

/// Opens the store, binds, and starts serving in the background.
pub async fn start(opts: ServerOptions) -> Result<RunningServer, String> {
    let dir = opts.data_dir.clone();
    let spec = opts.store.clone();
    let store = tokio::task::spawn_blocking(move || -> Result<Arc<dyn Store>, String> {
        std::fs::create_dir_all(dir.join("attachments")).map_err(|e| format!("data dir: {e}"))?;
        Ok(match spec {
            StoreSpec::Sqlite => Arc::new(SqliteStore::open(&dir)?),
            StoreSpec::Postgres(url) => Arc::new(PostgresStore::open(&url)?),
        })
    })
    .await
    .map_err(|e| e.to_string())??;
    start_with_store(opts, store).await
}

/// Starts serving on an opened store.
pub async fn start_with_store(opts: ServerOptions, store: Arc<dyn Store>) -> Result<RunningServer, String> {
    std::fs::create_dir_all(opts.data_dir.join("attachments")).map_err(|e| format!("data dir: {e}"))?;
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let hub = Arc::new(Hub::default());
    let config = Arc::new(opts.config);
    let publisher_hub = hub.clone();
    let auto_reply = config
        .auto_reply
        .clone()
        .map(|a| AutoReplier::new(a, tokio::runtime::Handle::current()));
    let replier = auto_reply.clone();
    let cluster = opts.cluster.as_deref().map(|url| {
        let source = Arc::new(crate::cluster::StoreSource(store.clone()));
        let c = Cluster::start(url, source, hub.clone(), shutdown_rx.clone());
        c.install();
        c.announce_through(&*store);
        c
    });
    let publisher_cluster = cluster.clone();
    store.set_publisher(Arc::new(move |fx: &Effects| {
        match &publisher_cluster {
            Some(c) => c.publish(fx),
            None => publisher_hub.publish(fx),
        }
        if let Some(r) = &replier {
            r.on_published(fx);
        }
    }));
    let app = Arc::new(App {
        service: Service::new(store, config.clone()),
        config,
        hub,
        presence_lock: Mutex::new(()),
        data_dir: opts.data_dir,
        static_dir: opts.static_dir,
        shutdown: shutdown_rx.clone(),
        cluster,
        next_conn: AtomicU64::new(1),
    });
    if let Some(c) = &app.cluster {
        // Cluster-wide presence flipped: availability events for this node's visitors.
        let weak = Arc::downgrade(&app);
        c.set_on_presence(Arc::new(move |online| {
            let Some(app) = weak.upgrade() else { return };
            let hub = &app.hub;
            if let Err(e) = app
                .service
                .availability_changed(|w| hub.connected_principals(w), online, util::now_ms())
            {
                eprintln!("availability: {e}");
            }
        }));
    }
    if let Some(r) = &auto_reply {
        r.attach(&app);
    }
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
    let service = crate::router(app.clone());
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
        if app.cluster.as_ref().is_some_and(|c| !c.is_leader()) {
            continue; // once per cluster: the node holding the leader lock sweeps
        }
        rounds += 1;
        let purge = rounds % 100 == 1;
        let r = app
            .blocking(move |app| app.service.sweep(util::now_ms(), purge))
            .await;
        if let Err(e) = r {
            eprintln!("sweep: {e}");
        }
    }
}

/// The demo auto-reply: a subscriber of published messages. After each visitor message it
/// waits `delay_ms`, then replies while no agent is connected and the thread is still open.
#[derive(Clone)]
struct AutoReplier {
    cfg: AutoReply,
    rt: tokio::runtime::Handle,
    app: Arc<std::sync::OnceLock<std::sync::Weak<App>>>,
}

impl AutoReplier {
    fn new(cfg: AutoReply, rt: tokio::runtime::Handle) -> AutoReplier {
        AutoReplier {
            cfg,
            rt,
            app: Arc::new(std::sync::OnceLock::new()),
        }
    }

    fn attach(&self, app: &Arc<App>) {
        let _ = self.app.set(Arc::downgrade(app));
    }

    fn on_published(&self, fx: &Effects) {
        for ev in &fx.agent {
            let AgentEvent::Message { thread_id, message, .. } = ev else { continue };
            if message.message.author != livechat_protocol::Author::Visitor {
                continue;
            }
            let Some(app) = self.app.get().and_then(|w| w.upgrade()) else { continue };
            let (cfg, thread_id) = (self.cfg.clone(), thread_id.clone());
            self.rt.spawn(async move {
                tokio::time::sleep(Duration::from_millis(cfg.delay_ms)).await;
                if app.agents_connected() > 0 {
                    return;
                }
                let _ = app
                    .blocking(move |app| {
                        app.service
                            .agent_reply(&thread_id, &cfg.agent_name, &cfg.text, util::now_ms())
                    })
                    .await;
            });
        }
    }
}
