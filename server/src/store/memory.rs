//! In-memory [`Store`] for the service layer's unit tests: the same row semantics as the SQL
//! backends, no durability. A write runs on a copy of the state that replaces it only when
//! the function succeeds, so a failed rule leaves nothing behind, like a rolled-back savepoint.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, OnceLock};

use livechat_protocol::{Author, Customer, Event, Seq, ThreadStatus};

use super::*;

#[derive(Clone, Default)]
struct PrincipalRec {
    p: Option<Principal>,
    head: Seq,
    rate: Option<(f64, u64)>,
}

#[derive(Clone)]
struct ThreadRec {
    row: ThreadRow,
    /// Insertion order (the SQL backends' rowid).
    n: u64,
}

#[derive(Clone)]
struct MessageRec {
    m: AgentMessage,
    attachment_id: Option<String>,
    n: u64,
}

#[derive(Clone, Default)]
struct State {
    principals: HashMap<String, PrincipalRec>,
    events: HashMap<String, BTreeMap<Seq, Event>>,
    sessions: HashMap<String, SessionRow>,
    jtis: HashMap<(String, String), u64>,
    threads: HashMap<String, ThreadRec>,
    messages: Vec<MessageRec>,
    attachments: HashMap<String, AttachmentRecord>,
    requests: HashMap<(String, String), RequestRow>,
    metadata: HashMap<String, BTreeMap<String, (String, u64)>>,
    /// (principal, sticky) → key → (value, time).
    pending: HashMap<(String, bool), BTreeMap<String, (String, u64)>>,
    next_n: u64,
}

/// The in-memory store.
#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<State>,
    publisher: OnceLock<Publisher>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }
}

impl Store for MemoryStore {
    fn set_publisher(&self, publisher: Publisher) {
        let _ = self.publisher.set(publisher);
    }

    fn submit(&self, mut f: WriteFn, done: Done<()>) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let mut copy = state.clone();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&mut copy)))
            .unwrap_or_else(|_| Err(StoreError::Internal("panic in store mutation".into())));
        match r {
            Ok(fx) => {
                *state = copy;
                if let Some(p) = self.publisher.get() {
                    p(&fx);
                }
                drop(state);
                done(Ok(()))
            }
            Err(e) => {
                drop(state);
                done(Err(e))
            }
        }
    }

    fn read(&self, f: &mut dyn FnMut(&mut dyn Tx) -> StoreResult<()>) -> StoreResult<()> {
        let mut copy = self.state.lock().unwrap_or_else(|p| p.into_inner()).clone();
        f(&mut copy)
    }
}

impl State {
    fn n(&mut self) -> u64 {
        self.next_n += 1;
        self.next_n
    }

    fn last_n_of_thread(&self, thread_id: &str) -> Option<u64> {
        self.messages
            .iter()
            .rev()
            .find(|m| m.m.message.thread_id == thread_id)
            .map(|m| m.n)
    }

    fn with_attachment(&self, rec: &MessageRec) -> AgentMessage {
        let mut m = rec.m.clone();
        m.message.attachment = rec.attachment_id.as_ref().and_then(|id| {
            self.attachments.get(id).map(|a| livechat_protocol::Attachment {
                id: id.clone(),
                file_name: a.file_name.clone(),
                content_type: a.content_type.clone(),
                size: a.size,
                url: a
                    .external_url
                    .clone()
                    .unwrap_or_else(|| format!("/v1/attachments/{id}")),
            })
        });
        m
    }
}

fn merge(into: &mut BTreeMap<String, (String, u64)>, entries: &[MetaRow], keep_newer: bool) {
    for (k, v, t) in entries {
        match into.get(k) {
            Some((_, old)) if keep_newer && *t < *old => {}
            _ => {
                into.insert(k.clone(), (v.clone(), *t));
            }
        }
    }
}

impl Tx for State {
    fn lock_principal(&mut self, _principal_id: &str) -> StoreResult<()> {
        Ok(())
    }

    fn principal(&mut self, id: &str) -> StoreResult<Option<Principal>> {
        Ok(self.principals.get(id).and_then(|r| r.p.clone()))
    }

    fn insert_principal(&mut self, p: &Principal, _now: u64) -> StoreResult<()> {
        if self.principals.contains_key(&p.id) {
            return Err(StoreError::Internal("principal exists".into()));
        }
        self.principals.insert(
            p.id.clone(),
            PrincipalRec {
                p: Some(p.clone()),
                head: 0,
                rate: None,
            },
        );
        Ok(())
    }

    fn find_customer(&mut self, widget_id: &str, c: &Customer) -> StoreResult<Option<String>> {
        Ok(self
            .principals
            .values()
            .filter_map(|r| r.p.as_ref())
            .find(|p| p.widget_id == widget_id && p.customer.as_ref() == Some(c))
            .map(|p| p.id.clone()))
    }

    fn head(&mut self, principal_id: &str) -> StoreResult<Seq> {
        Ok(self.principals.get(principal_id).map_or(0, |r| r.head))
    }

    fn rate_bucket(&mut self, principal_id: &str) -> StoreResult<Option<(f64, u64)>> {
        Ok(self.principals.get(principal_id).and_then(|r| r.rate))
    }

    fn set_rate_bucket(&mut self, principal_id: &str, tokens: f64, at: u64) -> StoreResult<()> {
        if let Some(r) = self.principals.get_mut(principal_id) {
            r.rate = Some((tokens, at));
        }
        Ok(())
    }

    fn next_seq(&mut self, principal_id: &str) -> StoreResult<Seq> {
        let r = self
            .principals
            .get_mut(principal_id)
            .ok_or_else(|| StoreError::Internal("unknown principal".into()))?;
        r.head += 1;
        Ok(r.head)
    }

    fn insert_event(&mut self, principal_id: &str, seq: Seq, event: &Event, _now: u64) -> StoreResult<()> {
        let e = self.events.entry(principal_id.to_string()).or_default();
        if e.contains_key(&seq) {
            return Err(StoreError::Internal("duplicate event seq".into()));
        }
        e.insert(seq, event.clone());
        Ok(())
    }

    fn events_after(&mut self, principal_id: &str, after: Seq) -> StoreResult<Vec<(Seq, Event)>> {
        Ok(self
            .events
            .get(principal_id)
            .map(|e| {
                e.range(after + 1..)
                    .map(|(s, e)| (*s, e.clone()))
                    .collect()
            })
            .unwrap_or_default())
    }

    fn session(&mut self, token_hash: &str) -> StoreResult<Option<SessionRow>> {
        Ok(self.sessions.get(token_hash).cloned())
    }

    fn insert_session(&mut self, token_hash: &str, s: &SessionRow, _now: u64) -> StoreResult<()> {
        if self.sessions.contains_key(token_hash) {
            return Err(StoreError::Internal("session token exists".into()));
        }
        self.sessions.insert(token_hash.to_string(), s.clone());
        Ok(())
    }

    fn touch_session(&mut self, token_hash: &str, now: u64) -> StoreResult<()> {
        if let Some(s) = self.sessions.get_mut(token_hash) {
            s.last_used_at = now;
        }
        Ok(())
    }

    fn end_session(&mut self, token_hash: &str) -> StoreResult<()> {
        if let Some(s) = self.sessions.get_mut(token_hash) {
            s.ended = true;
        }
        Ok(())
    }

    fn insert_jti(&mut self, widget_id: &str, jti: &str, exp: u64) -> StoreResult<bool> {
        let key = (widget_id.to_string(), jti.to_string());
        if self.jtis.contains_key(&key) {
            return Ok(false);
        }
        self.jtis.insert(key, exp);
        Ok(true)
    }

    fn purge(&mut self, now: u64, session_cutoff: u64) -> StoreResult<()> {
        self.jtis.retain(|_, exp| *exp >= now);
        self.sessions.retain(|_, s| s.last_used_at >= session_cutoff);
        Ok(())
    }

    fn thread(&mut self, id: &str) -> StoreResult<Option<ThreadRow>> {
        Ok(self.threads.get(id).map(|t| t.row.clone()))
    }

    fn insert_thread(&mut self, t: &ThreadRow) -> StoreResult<()> {
        let n = self.n();
        self.threads.insert(t.id.clone(), ThreadRec { row: t.clone(), n });
        Ok(())
    }

    fn set_thread_status(&mut self, id: &str, status: ThreadStatus, now: u64) -> StoreResult<()> {
        if let Some(t) = self.threads.get_mut(id) {
            t.row.status = status;
            t.row.updated_at = now;
        }
        Ok(())
    }

    fn active_open_thread(&mut self, principal_id: &str) -> StoreResult<Option<String>> {
        let mut open: Vec<(&ThreadRec, Option<u64>)> = self
            .threads
            .values()
            .filter(|t| t.row.principal_id == principal_id && t.row.status == ThreadStatus::Open)
            .map(|t| (t, self.last_n_of_thread(&t.row.id)))
            .collect();
        // Newest message first (threads without messages last), then newest created.
        open.sort_by(|(a, am), (b, bm)| {
            bm.cmp(am)
                .then(b.row.created_at.cmp(&a.row.created_at))
                .then(b.n.cmp(&a.n))
        });
        Ok(open.first().map(|(t, _)| t.row.id.clone()))
    }

    fn open_threads(&mut self, principal_id: &str) -> StoreResult<Vec<String>> {
        let mut v: Vec<&ThreadRec> = self
            .threads
            .values()
            .filter(|t| t.row.principal_id == principal_id && t.row.status == ThreadStatus::Open)
            .collect();
        v.sort_by_key(|t| (t.row.created_at, t.n));
        Ok(v.into_iter().map(|t| t.row.id.clone()).collect())
    }

    fn threads_of(&mut self, principal_id: &str, limit: usize) -> StoreResult<Vec<ThreadRow>> {
        let mut v: Vec<&ThreadRec> = self
            .threads
            .values()
            .filter(|t| t.row.principal_id == principal_id)
            .collect();
        v.sort_by_key(|t| (t.row.created_at, t.n));
        let skip = v.len().saturating_sub(limit);
        Ok(v.into_iter().skip(skip).map(|t| t.row.clone()).collect())
    }

    fn move_threads(&mut self, from: &str, to: &str) -> StoreResult<()> {
        for t in self.threads.values_mut() {
            if t.row.principal_id == from {
                t.row.principal_id = to.to_string();
            }
        }
        Ok(())
    }

    fn stale_open_threads(&mut self, widget_id: &str, cutoff: u64, limit: usize) -> StoreResult<Vec<(String, String)>> {
        Ok(self
            .threads
            .values()
            .filter(|t| {
                t.row.widget_id == widget_id
                    && t.row.status == ThreadStatus::Open
                    && t.row.last_activity_at < cutoff
            })
            .take(limit)
            .map(|t| (t.row.id.clone(), t.row.principal_id.clone()))
            .collect())
    }

    fn list_threads(&mut self, widget_id: Option<&str>, status: Option<ThreadStatus>, limit: usize) -> StoreResult<Vec<String>> {
        let mut v: Vec<&ThreadRec> = self
            .threads
            .values()
            .filter(|t| widget_id.is_none_or(|w| t.row.widget_id == w))
            .filter(|t| status.is_none_or(|s| t.row.status == s))
            .collect();
        v.sort_by(|a, b| b.row.updated_at.cmp(&a.row.updated_at).then(b.n.cmp(&a.n)));
        Ok(v.into_iter().take(limit).map(|t| t.row.id.clone()).collect())
    }

    fn insert_message(&mut self, m: &AgentMessage, attachment: Option<&NewAttachment>) -> StoreResult<()> {
        if self.messages.iter().any(|r| r.m.message.id == m.message.id) {
            return Err(StoreError::Internal("message id exists".into()));
        }
        if let Some(a) = attachment {
            self.attachments.insert(
                a.id.clone(),
                AttachmentRecord {
                    file_name: a.file_name.clone(),
                    content_type: a.content_type.clone(),
                    size: a.size,
                    file: a.file.clone(),
                    external_url: a.external_url.clone(),
                },
            );
        }
        let n = self.n();
        let mut stored = m.clone();
        stored.message.attachment = None;
        self.messages.push(MessageRec {
            m: stored,
            attachment_id: attachment.map(|a| a.id.clone()),
            n,
        });
        if let Some(t) = self.threads.get_mut(&m.message.thread_id) {
            t.row.last_activity_at = m.message.created_at;
            t.row.updated_at = m.message.created_at;
        }
        Ok(())
    }

    fn last_message_time(&mut self, thread_id: &str) -> StoreResult<Option<u64>> {
        Ok(self
            .messages
            .iter()
            .rev()
            .find(|m| m.m.message.thread_id == thread_id)
            .map(|m| m.m.message.created_at))
    }

    fn thread_messages(&mut self, thread_id: &str, limit: usize) -> StoreResult<Vec<AgentMessage>> {
        let all: Vec<&MessageRec> = self
            .messages
            .iter()
            .filter(|m| m.m.message.thread_id == thread_id)
            .collect();
        let skip = if limit == 0 { 0 } else { all.len().saturating_sub(limit) };
        Ok(all.into_iter().skip(skip).map(|r| self.with_attachment(r)).collect())
    }

    fn messages_before(&mut self, thread_id: &str, before: Option<&str>, limit: usize) -> StoreResult<Option<Vec<AgentMessage>>> {
        let all: Vec<&MessageRec> = self
            .messages
            .iter()
            .filter(|m| m.m.message.thread_id == thread_id)
            .collect();
        let end = match before {
            None => all.len(),
            Some(id) => match all.iter().position(|m| m.m.message.id == id) {
                Some(i) => i,
                None => return Ok(None),
            },
        };
        let start = end.saturating_sub(limit);
        Ok(Some(all[start..end].iter().map(|r| self.with_attachment(r)).collect()))
    }

    fn message_counts(&mut self, thread_id: &str) -> StoreResult<(u64, u64)> {
        let all: Vec<&MessageRec> = self
            .messages
            .iter()
            .filter(|m| m.m.message.thread_id == thread_id)
            .collect();
        let last_agent = all
            .iter()
            .rposition(|m| m.m.message.author == Author::Agent);
        let unread = all
            .iter()
            .enumerate()
            .filter(|(i, m)| m.m.message.author == Author::Visitor && last_agent.is_none_or(|a| *i > a))
            .count();
        Ok((all.len() as u64, unread as u64))
    }

    fn attachment(&mut self, id: &str) -> StoreResult<Option<AttachmentRecord>> {
        Ok(self.attachments.get(id).cloned())
    }

    fn request(&mut self, principal_id: &str, req: &str) -> StoreResult<Option<RequestRow>> {
        Ok(self
            .requests
            .get(&(principal_id.to_string(), req.to_string()))
            .cloned())
    }

    fn insert_request(&mut self, principal_id: &str, req: &str, r: &RequestRow, _now: u64) -> StoreResult<()> {
        let key = (principal_id.to_string(), req.to_string());
        if self.requests.contains_key(&key) {
            return Err(StoreError::Internal("idempotency key exists".into()));
        }
        self.requests.insert(key, r.clone());
        Ok(())
    }

    fn move_requests(&mut self, from: &str, to: &str) -> StoreResult<()> {
        let moving: Vec<(String, RequestRow)> = self
            .requests
            .iter()
            .filter(|((p, _), _)| p == from)
            .map(|((_, k), r)| (k.clone(), r.clone()))
            .collect();
        self.requests.retain(|(p, _), _| p != from);
        for (k, r) in moving {
            self.requests.entry((to.to_string(), k)).or_insert(r);
        }
        Ok(())
    }

    fn merge_metadata(&mut self, thread_id: &str, entries: &[MetaRow]) -> StoreResult<()> {
        merge(self.metadata.entry(thread_id.to_string()).or_default(), entries, true);
        Ok(())
    }

    fn metadata(&mut self, thread_id: &str) -> StoreResult<BTreeMap<String, MetaEntry>> {
        Ok(self
            .metadata
            .get(thread_id)
            .map(|m| {
                m.iter()
                    .map(|(k, (v, t))| {
                        (
                            k.clone(),
                            MetaEntry {
                                value: serde_json::from_str(v).unwrap_or(Json::Null),
                                updated_at: *t,
                            },
                        )
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    fn put_pending(&mut self, principal_id: &str, sticky: bool, entries: &[MetaRow]) -> StoreResult<()> {
        merge(
            self.pending.entry((principal_id.to_string(), sticky)).or_default(),
            entries,
            false,
        );
        Ok(())
    }

    fn pending(&mut self, principal_id: &str, sticky_only: bool) -> StoreResult<Vec<MetaRow>> {
        let mut v: Vec<(u64, bool, String, String)> = Vec::new();
        for sticky in [false, true] {
            if sticky_only && !sticky {
                continue;
            }
            if let Some(m) = self.pending.get(&(principal_id.to_string(), sticky)) {
                for (k, (val, t)) in m {
                    v.push((*t, sticky, k.clone(), val.clone()));
                }
            }
        }
        // Oldest first, one-shot before sticky (later values win when merged in order).
        v.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
        Ok(v.into_iter().map(|(t, _, k, val)| (k, val, t)).collect())
    }

    fn clear_oneshot_pending(&mut self, principal_id: &str) -> StoreResult<()> {
        self.pending.remove(&(principal_id.to_string(), false));
        Ok(())
    }

    fn move_pending(&mut self, from: &str, to: &str) -> StoreResult<()> {
        for sticky in [false, true] {
            if let Some(m) = self.pending.remove(&(from.to_string(), sticky)) {
                let entries: Vec<MetaRow> = m.into_iter().map(|(k, (v, t))| (k, v, t)).collect();
                merge(self.pending.entry((to.to_string(), sticky)).or_default(), &entries, true);
            }
        }
        Ok(())
    }
}
