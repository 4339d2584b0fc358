//! Cross-node fan-out for several nodes on one PostgreSQL, through `LISTEN/NOTIFY`.
//!
//! Every node keeps one dedicated connection (the *bus*) that `LISTEN`s on [`CHANNEL`] and sends
//! this node's notifications. Payloads are small — ids, never message bodies when they could be
//! large — and the receiving node reads the rows from the store:
//!
//! | payload | meaning |
//! |---|---|
//! | `v NODE PRINCIPAL SEQ` | events up to `SEQ` of `PRINCIPAL` are committed |
//! | `a NODE JSON` | an agent-stream event (when it fits in [`INLINE_MAX`] bytes) |
//! | `m NODE THREAD MESSAGE` / `t`, `s`, `d NODE THREAD` | a large agent event: read the message / conversation / status / metadata |
//! | `p NODE COUNT` | this node has `COUNT` agent streams open (sent on change and every [`HEARTBEAT`]) |
//! | `r NODE` | this node's bus was down: every node re-reads what its sockets may have missed |
//!
//! **Visitor events reach each local socket in sequence order, without gap and at most once.**
//! All of them — committed here or on another node — go through one delivery task per node
//! that keeps, for each principal with a socket on this node, the highest sequence number it
//! handed to the [`Hub`] with everything below it. An event right after it is delivered as
//! is; anything else (a notification that skipped numbers, two commits of one principal
//! published out of order, catch-up after the bus was down) reads the missing range with
//! `Store::events_after`. Sockets drop sequence numbers they already have (`ws.rs`), so a
//! range read that overlaps their replay costs nothing visible. A principal's watermark starts
//! at its head read *before* its first socket registers ([`Cluster::on_register`]): what the
//! socket's own replay or sync covers is at or above it.
//!
//! **Notified in the commit.** On a PostgreSQL store the `v`, `a`… payloads of a batch are
//! sent by the store's writer inside the batch's transaction ([`Cluster::announcer`],
//! `Store::set_announcer`): PostgreSQL delivers them if and only if it commits, so a node
//! dying between commit and notify cannot hold an event back. On a store that cannot (the
//! SQLite store the fan-out tests share between two buses) [`Cluster::publish`] sends them on
//! the bus after commit.
//!
//! **Agent stream.** Agent events are published locally and forwarded once to every other
//! node; the sending node ignores its own notifications. Agent streams have no sequence
//! numbers to resume from: when the bus was down they are closed (code 1012) after it comes
//! back, and consoles reconnect and reload.
//!
//! **Presence** (agents online): each node announces its count of agent streams; a node that
//! has not been heard of for [`PRESENCE_TTL`] counts as zero (it died). When the cluster-wide
//! answer flips, every node stores `availability` events for its own connected principals.
//!
//! **Once per cluster** work (the inactivity sweeper) runs on the node that holds the session
//! advisory lock [`LEADER_LOCK`] on its bus connection; when that connection or node dies the
//! lock is released and another node takes it within a reconnect interval.
//!
//! **Losing the database.** While the bus is down the node is not *ready*: `/healthz` answers
//! 503 (the balancer stops sending it new sockets), sends are refused with an error frame and
//! the socket is closed with 1012 so the widget reconnects to a healthy node and sends its
//! outbox there (nothing is acked that is not committed). The bus reconnects with backoff,
//! `LISTEN`s again, then reads what its sockets missed and asks the others to do the same.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::ws::Utf8Bytes;
use futures::StreamExt;
use livechat_protocol::Seq;
use tokio::sync::{mpsc, watch};
use tokio_postgres::{AsyncMessage, NoTls};

use crate::hub::Hub;
use crate::store::{AgentEvent, Effects, VisitorEvent};

mod source;
pub use source::{Source, StoreSource};

/// The `LISTEN` channel.
pub const CHANNEL: &str = "livechat_events";
/// Agent events up to this many bytes of JSON travel inline (NOTIFY's limit is 8000).
pub const INLINE_MAX: usize = 7000;
/// How often a node announces its agent count.
pub const HEARTBEAT: Duration = Duration::from_secs(1);
/// A node not heard of for this long counts as having no agents.
pub const PRESENCE_TTL: Duration = Duration::from_secs(4);
/// `pg_try_advisory_lock` key of the once-per-cluster work (an arbitrary constant: "lchat").
pub const LEADER_LOCK: i64 = 0x6c63_6861_74;

/// Work for the delivery task, in the order it must happen.
enum Item {
    /// Effects committed on this node (from the store's publisher).
    Local(Effects),
    /// Another node committed events of a principal up to `seq`.
    Remote(String, Seq),
    /// A principal's first socket is about to register; its head was `seq`.
    Registered(String, Seq),
    /// Re-read every tracked principal (after the bus was down, here or elsewhere).
    CatchUp,
}

/// What the bus sends.
enum Out {
    Notify(String),
}

/// A node's cluster membership.
pub struct Cluster {
    /// Random id of this process.
    pub node_id: String,
    store: Arc<dyn Source>,
    hub: Arc<Hub>,
    items: mpsc::UnboundedSender<Item>,
    out: mpsc::UnboundedSender<Out>,
    ready: AtomicBool,
    leader: AtomicBool,
    local_agents: AtomicUsize,
    remote_agents: Mutex<HashMap<String, (usize, Instant)>>,
    /// Cluster-wide "an agent is online", as last acted on.
    online: Mutex<bool>,
    /// Called with the new value when the cluster-wide presence flips (stores availability
    /// events for this node's principals). Runs on a blocking thread.
    on_presence: Mutex<Option<Arc<dyn Fn(bool) + Send + Sync>>>,
    /// Asks local agent streams to close (after the bus was down).
    agent_reset: watch::Sender<u64>,
    /// The store sends this node's event notifications inside its commits.
    announced_by_store: AtomicBool,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster").field("node_id", &self.node_id).finish_non_exhaustive()
    }
}

impl Cluster {
    /// Joins the cluster on `url` (a `postgres://` URL; its password is never logged).
    /// Returns at once; the bus connects in the background (the node is not [`ready`]
    /// until it has). The caller must route the store's publisher to [`Cluster::publish`] and
    /// the hub's register hook to [`Cluster::on_register`] (see [`Cluster::install`]).
    /// `store` is what the cluster reads (heads, event ranges, conversations).
    ///
    /// [`ready`]: Cluster::ready
    pub fn start(url: &str, store: Arc<dyn Source>, hub: Arc<Hub>, shutdown: watch::Receiver<bool>) -> Arc<Cluster> {
        let (items_tx, items_rx) = mpsc::unbounded_channel();
        let (out_tx, out_rx) = mpsc::unbounded_channel();
        let cluster = Arc::new(Cluster {
            node_id: crate::util::random_id()[..12].to_string(),
            store,
            hub,
            items: items_tx,
            out: out_tx,
            ready: AtomicBool::new(false),
            leader: AtomicBool::new(false),
            local_agents: AtomicUsize::new(0),
            remote_agents: Mutex::new(HashMap::new()),
            online: Mutex::new(false),
            on_presence: Mutex::new(None),
            agent_reset: watch::channel(0).0,
            announced_by_store: AtomicBool::new(false),
        });
        tokio::spawn(deliver(cluster.clone(), items_rx));
        tokio::spawn(bus(cluster.clone(), url.to_string(), out_rx, shutdown.clone()));
        tokio::spawn(presence(cluster.clone(), shutdown));
        cluster
    }

    /// Routes the hub's register hook through this cluster (the caller routes the store's
    /// publisher to [`Cluster::publish`]).
    pub fn install(self: &Arc<Self>) {
        let c = self.clone();
        self.hub.set_register_hook(Arc::new(move |principal: &str| c.on_register(principal)));
    }

    /// Hands the store this node's notification payloads to send inside its commits; if it
    /// takes them, [`Cluster::publish`] no longer sends them after commit.
    pub fn announce_through(&self, store: &dyn crate::store::Store) {
        let node = self.node_id.clone();
        let taken = store.set_announcer(crate::store::Announcer {
            channel: CHANNEL,
            payloads: Box::new(move |fx, out| payloads(&node, fx, out)),
        });
        self.announced_by_store.store(taken, Ordering::SeqCst);
    }

    /// Sets what runs when the cluster-wide agent presence flips.
    pub fn set_on_presence(&self, f: Arc<dyn Fn(bool) + Send + Sync>) {
        *lock(&self.on_presence) = Some(f);
    }

    /// True while the bus is connected and listening: the node may accept sends.
    pub fn ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst)
    }

    /// True on the one node that runs once-per-cluster work.
    pub fn is_leader(&self) -> bool {
        self.ready() && self.leader.load(Ordering::SeqCst)
    }

    /// Changes to this receiver ask local agent streams to close (code 1012).
    pub fn agent_resets(&self) -> watch::Receiver<u64> {
        self.agent_reset.subscribe()
    }

    /// The store's publisher: effects committed on this node, in commit order.
    pub fn publish(&self, fx: &Effects) {
        if fx.visitor.is_empty() && fx.agent.is_empty() {
            return;
        }
        if !self.announced_by_store.load(Ordering::SeqCst) {
            // Tell the others first, so a slow local delivery does not hold them up.
            let mut out = Vec::new();
            payloads(&self.node_id, fx, &mut out);
            for p in out {
                self.notify(p);
            }
        }
        let _ = self.items.send(Item::Local(fx.clone()));
    }

    /// Called by the hub just before a principal's socket registers, on a blocking thread:
    /// reads the principal's head so that the delivery watermark starts at or below what
    /// the socket's replay covers.
    pub fn on_register(&self, principal: &str) {
        if let Ok(head) = self.store.head(principal) {
            let _ = self.items.send(Item::Registered(principal.to_string(), head));
        }
    }

    /// Number of agent streams open on this node changed (`up`: one more).
    pub fn agent_delta(self: &Arc<Self>, up: bool) {
        let n = if up {
            self.local_agents.fetch_add(1, Ordering::SeqCst) + 1
        } else {
            self.local_agents.fetch_sub(1, Ordering::SeqCst).saturating_sub(1)
        };
        self.notify(format!("p {} {}", self.node_id, n));
        self.check_presence();
    }

    /// Agents online anywhere in the cluster.
    pub fn agents_online(&self) -> bool {
        if self.local_agents.load(Ordering::SeqCst) > 0 {
            return true;
        }
        let now = Instant::now();
        lock(&self.remote_agents)
            .values()
            .any(|(n, seen)| *n > 0 && now.duration_since(*seen) < PRESENCE_TTL)
    }

    fn notify(&self, payload: String) {
        let _ = self.out.send(Out::Notify(payload));
    }

    /// Compares the cluster-wide presence with what was last acted on; on a flip runs the
    /// presence hook on a blocking thread.
    fn check_presence(self: &Arc<Self>) {
        let now_online = self.agents_online();
        {
            let mut last = lock(&self.online);
            if *last == now_online {
                return;
            }
            *last = now_online;
        }
        let hook = lock(&self.on_presence).clone();
        if let Some(hook) = hook {
            let _ = tokio::task::spawn_blocking(move || hook(now_online));
        }
    }

    fn on_notification(self: &Arc<Self>, payload: &str) {
        let mut parts = payload.splitn(3, ' ');
        let (Some(kind), Some(node)) = (parts.next(), parts.next()) else {
            return;
        };
        if node == self.node_id {
            return;
        }
        let rest = parts.next().unwrap_or("");
        match kind {
            "v" => {
                if let Some((p, seq)) = rest.rsplit_once(' ') {
                    if let Ok(seq) = seq.parse::<Seq>() {
                        if self.hub.has_principal(p) {
                            let _ = self.items.send(Item::Remote(p.to_string(), seq));
                        }
                    }
                }
            }
            "a" => self.hub.publish_agent_text(Utf8Bytes::from(rest.to_string())),
            "m" | "t" | "s" | "d" => {
                let c = self.clone();
                let kind = kind.to_string();
                let rest = rest.to_string();
                tokio::spawn(async move {
                    let store = c.store.clone();
                    let ev = tokio::task::spawn_blocking(move || read_agent_event(&*store, &kind, &rest))
                        .await
                        .ok()
                        .flatten();
                    if let Some(ev) = ev {
                        c.hub.publish(&Effects { visitor: Vec::new(), agent: vec![ev] });
                    }
                });
            }
            "p" => {
                if let Ok(n) = rest.parse::<usize>() {
                    lock(&self.remote_agents).insert(node.to_string(), (n, Instant::now()));
                    self.check_presence();
                }
            }
            "r" => {
                let _ = self.items.send(Item::CatchUp);
            }
            _ => {}
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The notification for one agent event: inline when small, else what to read.
/// The notifications for one mutation's effects: the highest committed seq per principal,
/// then each agent event.
fn payloads(node: &str, fx: &Effects, out: &mut Vec<String>) {
    let mut heads: Vec<(&str, Seq)> = Vec::new();
    for ev in &fx.visitor {
        match heads.iter_mut().find(|(p, _)| *p == ev.principal_id) {
            Some(h) => h.1 = h.1.max(ev.seq),
            None => heads.push((&ev.principal_id, ev.seq)),
        }
    }
    for (p, seq) in heads {
        out.push(format!("v {node} {p} {seq}"));
    }
    for ev in &fx.agent {
        out.push(agent_payload(node, ev));
    }
}

fn agent_payload(node: &str, ev: &AgentEvent) -> String {
    if let Ok(json) = serde_json::to_string(ev) {
        if json.len() <= INLINE_MAX {
            return format!("a {node} {json}");
        }
    }
    match ev {
        AgentEvent::Message { thread_id, message, .. } => format!("m {node} {thread_id} {}", message.message.id),
        AgentEvent::ThreadOpened { conversation, .. } => format!("t {node} {}", conversation.id),
        AgentEvent::ThreadStatus { thread_id, .. } => format!("s {node} {thread_id}"),
        AgentEvent::MetadataUpdated { thread_id, .. } => format!("d {node} {thread_id}"),
    }
}

/// Rebuilds a large agent event from the store.
fn read_agent_event(store: &dyn Source, kind: &str, rest: &str) -> Option<AgentEvent> {
    let mut it = rest.split(' ');
    let thread = it.next()?;
    match kind {
        "m" => {
            let id = it.next()?;
            let conv = store.conversation(thread).ok()??;
            let message = store.conversation_messages(thread).ok()??.into_iter().find(|m| m.message.id == id)?;
            Some(AgentEvent::Message { widget_id: conv.widget_id, thread_id: thread.to_string(), message })
        }
        "t" => {
            let conv = store.conversation(thread).ok()??;
            Some(AgentEvent::ThreadOpened { widget_id: conv.widget_id.clone(), conversation: conv })
        }
        "s" => {
            let conv = store.conversation(thread).ok()??;
            Some(AgentEvent::ThreadStatus { widget_id: conv.widget_id, thread_id: thread.to_string(), status: conv.status })
        }
        "d" => {
            let conv = store.conversation(thread).ok()??;
            let metadata = store.conversation_metadata(thread).ok()??;
            Some(AgentEvent::MetadataUpdated { widget_id: conv.widget_id, thread_id: thread.to_string(), metadata })
        }
        _ => None,
    }
}

/// The delivery task: the only path from committed visitor events to local sockets.
async fn deliver(c: Arc<Cluster>, mut rx: mpsc::UnboundedReceiver<Item>) {
    // principal -> highest seq handed to the hub with everything below it.
    let mut marks: HashMap<String, Seq> = HashMap::new();
    let mut last_prune = Instant::now();
    while let Some(item) = rx.recv().await {
        match item {
            Item::Registered(p, head) => {
                marks.entry(p).or_insert(head);
            }
            Item::Local(fx) => {
                if !fx.agent.is_empty() {
                    c.hub.publish(&Effects { visitor: Vec::new(), agent: fx.agent });
                }
                let mut i = 0;
                while i < fx.visitor.len() {
                    let p = fx.visitor[i].principal_id.clone();
                    let mut j = i;
                    while j < fx.visitor.len() && fx.visitor[j].principal_id == p {
                        j += 1;
                    }
                    let evs = &fx.visitor[i..j];
                    let top = evs.iter().map(|e| e.seq).max().unwrap_or(0);
                    match marks.get(&p).copied() {
                        // Nobody here follows this principal through the cluster yet: its
                        // sockets (if any) registered after this commit's head read.
                        None => c.hub.publish(&Effects { visitor: evs.to_vec(), agent: Vec::new() }),
                        Some(mark) if top <= mark => {}
                        Some(mark) if evs[0].seq == mark + 1 && contiguous(evs) => {
                            c.hub.publish(&Effects { visitor: evs.to_vec(), agent: Vec::new() });
                            marks.insert(p, top);
                        }
                        Some(mark) => {
                            if let Some(top) = read_range(&c, &p, mark).await {
                                marks.insert(p, top.max(mark));
                            }
                        }
                    }
                    i = j;
                }
            }
            Item::Remote(p, seq) => {
                let mark = marks.get(&p).copied().unwrap_or(seq.saturating_sub(1));
                if seq > mark {
                    if let Some(top) = read_range(&c, &p, mark).await {
                        marks.insert(p, top.max(mark));
                    }
                }
            }
            Item::CatchUp => {
                let tracked: Vec<(String, Seq)> = marks.iter().map(|(p, s)| (p.clone(), *s)).collect();
                for (p, mark) in tracked {
                    if !c.hub.has_principal(&p) {
                        continue;
                    }
                    if let Some(top) = read_range(&c, &p, mark).await {
                        marks.insert(p, top.max(mark));
                    }
                }
            }
        }
        if last_prune.elapsed() > Duration::from_secs(10) {
            last_prune = Instant::now();
            marks.retain(|p, _| c.hub.has_principal(p));
        }
    }
}

fn contiguous(evs: &[VisitorEvent]) -> bool {
    evs.windows(2).all(|w| w[1].seq == w[0].seq + 1)
}

/// Reads and publishes a principal's events after `after`; returns the highest seq read.
async fn read_range(c: &Arc<Cluster>, principal: &str, after: Seq) -> Option<Seq> {
    let store = c.store.clone();
    let p = principal.to_string();
    let events = tokio::task::spawn_blocking(move || store.events_after(&p, after)).await.ok()?;
    let events = match events {
        Ok(e) => e,
        Err(e) => {
            eprintln!("cluster: reading events of a principal failed: {e}");
            return None;
        }
    };
    let top = events.iter().map(|(s, _)| *s).max().unwrap_or(after);
    let visitor: Vec<VisitorEvent> = events
        .into_iter()
        .map(|(seq, event)| VisitorEvent { principal_id: principal.to_string(), seq, event })
        .collect();
    if !visitor.is_empty() {
        c.hub.publish(&Effects { visitor, agent: Vec::new() });
    }
    Some(top)
}

/// The bus: connect, LISTEN, take the leader lock if free, send queued notifications,
/// dispatch received ones; on any failure mark the node not ready and start over.
async fn bus(c: Arc<Cluster>, url: String, mut out: mpsc::UnboundedReceiver<Out>, mut shutdown: watch::Receiver<bool>) {
    let mut backoff = Duration::from_millis(100);
    let mut was_down = false;
    loop {
        if *shutdown.borrow() {
            return;
        }
        let connected = tokio_postgres::connect(&url, NoTls).await;
        let (client, mut connection) = match connected {
            Ok(x) => x,
            Err(e) => {
                if !was_down {
                    eprintln!("cluster: database unreachable: {}", redact(&e.to_string(), &url));
                }
                was_down = true;
                c.ready.store(false, Ordering::SeqCst);
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = shutdown.changed() => return,
                }
                backoff = (backoff * 2).min(Duration::from_secs(2));
                continue;
            }
        };
        // Drive the connection and forward notifications to us.
        let (note_tx, mut note_rx) = mpsc::unbounded_channel::<String>();
        let conn_task = tokio::spawn(async move {
            let mut stream = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
            while let Some(msg) = stream.next().await {
                match msg {
                    Ok(AsyncMessage::Notification(n)) => {
                        if note_tx.send(n.payload().to_string()).is_err() {
                            break;
                        }
                    }
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
        });
        let setup = async {
            client.batch_execute(&format!("LISTEN {CHANNEL}")).await?;
            let row = client.query_one("SELECT pg_try_advisory_lock($1)", &[&LEADER_LOCK]).await?;
            Ok::<bool, tokio_postgres::Error>(row.get(0))
        };
        let leader = match setup.await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("cluster: LISTEN failed: {}", redact(&e.to_string(), &url));
                conn_task.abort();
                c.ready.store(false, Ordering::SeqCst);
                tokio::time::sleep(backoff).await;
                continue;
            }
        };
        c.leader.store(leader, Ordering::SeqCst);
        backoff = Duration::from_millis(100);
        c.ready.store(true, Ordering::SeqCst);
        if was_down {
            eprintln!("cluster: database reachable again; catching up");
            // Read what our sockets missed, ask the others to do the same (events we
            // committed while our notifications could not go out), and close agent streams
            // (they have nothing to resume from).
            let _ = c.items.send(Item::CatchUp);
            let _ = client.execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &format!("r {}", c.node_id)]).await;
            c.agent_reset.send_modify(|n| *n += 1);
            was_down = false;
        }
        let _ = client
            .execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &format!("p {} {}", c.node_id, c.local_agents.load(Ordering::SeqCst))])
            .await;
        let mut heartbeat = tokio::time::interval(HEARTBEAT);
        heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let failed = loop {
            tokio::select! {
                _ = shutdown.changed() => {
                    if *shutdown.borrow() { conn_task.abort(); return; }
                }
                note = note_rx.recv() => match note {
                    Some(p) => c.on_notification(&p),
                    None => break true, // the connection ended
                },
                o = out.recv() => {
                    let Some(Out::Notify(first)) = o else { return };
                    let mut batch = vec![first];
                    while batch.len() < 512 {
                        match out.try_recv() {
                            Ok(Out::Notify(p)) => batch.push(p),
                            Err(_) => break,
                        }
                    }
                    let sent = client
                        .execute("SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p", &[&CHANNEL, &batch])
                        .await;
                    if let Err(e) = sent {
                        eprintln!("cluster: notify failed: {}", redact(&e.to_string(), &url));
                        break true;
                    }
                }
                _ = heartbeat.tick() => {
                    let n = c.local_agents.load(Ordering::SeqCst);
                    let beat = client
                        .execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &format!("p {} {n}", c.node_id)])
                        .await;
                    if beat.is_err() { break true; }
                    if !c.leader.load(Ordering::SeqCst) {
                        if let Ok(row) = client.query_one("SELECT pg_try_advisory_lock($1)", &[&LEADER_LOCK]).await {
                            c.leader.store(row.get(0), Ordering::SeqCst);
                        }
                    }
                    c.check_presence();
                }
            }
        };
        if failed {
            eprintln!("cluster: lost the database connection; not accepting sends until it is back");
            c.ready.store(false, Ordering::SeqCst);
            c.leader.store(false, Ordering::SeqCst);
            was_down = true;
            conn_task.abort();
        }
    }
}

/// Expires silent nodes' presence even when no notification arrives.
async fn presence(c: Arc<Cluster>, mut shutdown: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(HEARTBEAT);
    loop {
        tokio::select! {
            _ = tick.tick() => c.check_presence(),
            _ = shutdown.changed() => if *shutdown.borrow() { return },
        }
    }
}

/// Removes the password of `url` from an error text.
fn redact(text: &str, url: &str) -> String {
    match url.split_once("://").and_then(|(_, rest)| rest.split_once('@')).and_then(|(auth, _)| auth.split_once(':')) {
        Some((_, pw)) if !pw.is_empty() => text.replace(pw, "***"),
        _ => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_the_password() {
        assert_eq!(redact("bad s3cret here", "postgres://u:s3cret@h/db"), "bad *** here");
        assert_eq!(redact("fine", "postgres://u@h/db"), "fine");
    }

    #[test]
    fn large_agent_events_travel_as_ids() {
        let big = "x".repeat(INLINE_MAX + 10);
        let ev = AgentEvent::ThreadStatus {
            widget_id: big.clone(),
            thread_id: "t1".into(),
            status: livechat_protocol::ThreadStatus::Solved,
        };
        assert_eq!(agent_payload("n1", &ev), "s n1 t1");
        let small = AgentEvent::ThreadStatus {
            widget_id: "w".into(),
            thread_id: "t1".into(),
            status: livechat_protocol::ThreadStatus::Solved,
        };
        assert!(agent_payload("n1", &small).starts_with("a n1 {"));
    }
}
