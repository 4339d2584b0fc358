//! In-memory fan-out: which sockets belong to which principal, and the agent event stream.
//!
//! The store publishes right after each commit, in commit order, so every socket receives a
//! principal's events in sequence order. A socket that registers while events are in flight
//! may see an event both in its replay/sync and live; it drops live events with a sequence
//! number it already has.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::ws::Utf8Bytes;
use livechat_protocol::ServerFrame;
use tokio::sync::{broadcast, mpsc};

use crate::store::Effects;

/// A frame queued for one visitor socket, tagged with the principal whose stream it belongs to.
#[derive(Debug, Clone)]
pub struct Outbound {
    /// Principal id.
    pub principal: Arc<str>,
    /// Sequence number of the event.
    pub seq: livechat_protocol::Seq,
    /// Serialized frame.
    pub text: Utf8Bytes,
}

struct Conns {
    widget_id: String,
    conns: Vec<(u64, mpsc::Sender<Outbound>)>,
}

/// Called with a principal just before one of its sockets registers (cluster mode).
pub type RegisterHook = Arc<dyn Fn(&str) + Send + Sync>;

/// The registry.
pub struct Hub {
    principals: Mutex<HashMap<Arc<str>, Conns>>,
    agent_tx: broadcast::Sender<Utf8Bytes>,
    agents: AtomicUsize,
    register_hook: std::sync::OnceLock<RegisterHook>,
}

impl Default for Hub {
    fn default() -> Self {
        Hub {
            principals: Mutex::new(HashMap::new()),
            agent_tx: broadcast::channel(4096).0,
            agents: AtomicUsize::new(0),
            register_hook: std::sync::OnceLock::new(),
        }
    }
}

impl Hub {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Arc<str>, Conns>> {
        self.principals.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sets the hook [`Hub::register`] calls first (`crate::cluster`). Once.
    pub fn set_register_hook(&self, hook: RegisterHook) {
        let _ = self.register_hook.set(hook);
    }

    /// Whether `principal` has a socket here.
    pub fn has_principal(&self, principal: &str) -> bool {
        self.lock().contains_key(principal)
    }

    /// Adds a socket to a principal. With a register hook (cluster mode) this blocks on a
    /// storage read: call it from a blocking thread.
    pub fn register(
        &self,
        conn: u64,
        principal: &str,
        widget_id: &str,
        tx: mpsc::Sender<Outbound>,
    ) {
        if let Some(hook) = self.register_hook.get() {
            hook(principal);
        }
        let mut m = self.lock();
        m.entry(Arc::from(principal))
            .or_insert_with(|| Conns {
                widget_id: widget_id.to_string(),
                conns: Vec::new(),
            })
            .conns
            .push((conn, tx));
    }

    /// Removes a socket; returns its sender when it was still registered.
    pub fn unregister(&self, conn: u64, principal: &str) -> Option<mpsc::Sender<Outbound>> {
        let mut m = self.lock();
        let entry = m.get_mut(principal)?;
        let pos = entry.conns.iter().position(|(c, _)| *c == conn)?;
        let (_, tx) = entry.conns.swap_remove(pos);
        if entry.conns.is_empty() {
            m.remove(principal);
        }
        Some(tx)
    }

    /// Moves a socket to another principal (after `auth`). False when the socket was dropped.
    pub fn move_conn(&self, conn: u64, from: &str, to: &str, widget_id: &str) -> bool {
        match self.unregister(conn, from) {
            Some(tx) => {
                self.register(conn, to, widget_id, tx);
                true
            }
            None => false,
        }
    }

    /// Principals of `widget_id` with at least one socket.
    pub fn connected_principals(&self, widget_id: &str) -> Vec<String> {
        self.lock()
            .iter()
            .filter(|(_, c)| c.widget_id == widget_id)
            .map(|(p, _)| p.to_string())
            .collect()
    }

    /// Number of visitor sockets.
    pub fn socket_count(&self) -> usize {
        self.lock().values().map(|c| c.conns.len()).sum()
    }

    /// Pushes stored events to sockets and the agent stream. A socket whose queue is full is
    /// dropped from the registry (it closes and resumes later).
    pub fn publish(&self, fx: &Effects) {
        if !fx.visitor.is_empty() {
            let mut m = self.lock();
            for ev in &fx.visitor {
                let Some(entry) = m.get_mut(ev.principal_id.as_str()) else {
                    continue;
                };
                let frame = ServerFrame::Event {
                    seq: ev.seq,
                    event: ev.event.clone(),
                };
                let text: Utf8Bytes = match serde_json::to_string(&frame) {
                    Ok(s) => s.into(),
                    Err(_) => continue,
                };
                let principal: Arc<str> = Arc::from(ev.principal_id.as_str());
                entry.conns.retain(|(_, tx)| {
                    tx.try_send(Outbound {
                        principal: principal.clone(),
                        seq: ev.seq,
                        text: text.clone(),
                    })
                    .is_ok()
                });
                if entry.conns.is_empty() {
                    m.remove(ev.principal_id.as_str());
                }
            }
        }
        for ev in &fx.agent {
            if let Ok(s) = serde_json::to_string(ev) {
                let _ = self.agent_tx.send(s.into());
            }
        }
    }

    /// Pushes an already serialized agent event (from another node) to the agent stream.
    pub fn publish_agent_text(&self, text: Utf8Bytes) {
        let _ = self.agent_tx.send(text);
    }

    /// Subscribes to the agent stream.
    pub fn subscribe_agent(&self) -> broadcast::Receiver<Utf8Bytes> {
        self.agent_tx.subscribe()
    }

    /// Connected agent stream sockets.
    pub fn agent_count(&self) -> usize {
        self.agents.load(Ordering::SeqCst)
    }

    /// Adds (`+1`) or removes (`-1`) an agent socket; returns the count before.
    pub fn agent_delta(&self, up: bool) -> usize {
        if up {
            self.agents.fetch_add(1, Ordering::SeqCst)
        } else {
            self.agents.fetch_sub(1, Ordering::SeqCst)
        }
    }
}
