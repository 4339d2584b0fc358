//! The product's rules as functions over a [`Tx`]: each runs inside one store transaction
//! (a savepoint of a group-commit batch on SQLite and PostgreSQL, a copy-on-write step in
//! memory), so a rule that fails leaves nothing behind. Written once for every backend.

use livechat_protocol::{
    Attachment, Author, Event, Message, MultiThreadStrategy, Seq, Thread, ThreadStatus, MAX_HISTORY_PAGE,
};

use super::rate::{Bucket, RateLimit};
use super::{AuthRequest, ContextRequest, ContextResult, SendOutcome, SendRequest, Snapshot};
use crate::store::{
    AgentEvent, AgentMessage, ConversationSummary, Effects, MetaRow, Principal, PrincipalView,
    RequestRow, SessionRow, StoreError, StoreResult, ThreadRow, Tx, VisitorEvent,
};
use crate::util::random_id;

/// Threads in a `sync`.
pub const SYNC_THREADS: usize = 100;
/// Inactive threads closed per widget per sweep.
pub const SWEEP_BATCH: usize = 1000;

/// Appends an event to the principal's stream: the next sequence number, stored, published.
pub fn append_event(
    tx: &mut dyn Tx,
    principal_id: &str,
    event: Event,
    now: u64,
    fx: &mut Effects,
) -> StoreResult<Seq> {
    let seq = tx.next_seq(principal_id)?;
    tx.insert_event(principal_id, seq, &event, now)?;
    fx.visitor.push(VisitorEvent {
        principal_id: principal_id.to_string(),
        seq,
        event,
    });
    Ok(seq)
}

/// The time a new message in `thread_id` gets: now, but always after the thread's last
/// message, so time order equals storage order (concurrent writers take `now` before the
/// write lock) and clients that sort by time show what the server stored, in its order.
pub fn message_time(tx: &mut dyn Tx, thread_id: &str, now: u64) -> StoreResult<u64> {
    Ok(tx
        .last_message_time(thread_id)?
        .map_or(now, |l| now.max(l + 1)))
}

/// Who owns a thread, for agents.
pub fn principal_view(tx: &mut dyn Tx, principal_id: &str) -> StoreResult<PrincipalView> {
    let customer = tx.principal(principal_id)?.and_then(|p| p.customer);
    Ok(PrincipalView {
        id: principal_id.to_string(),
        kind: if customer.is_some() { "customer" } else { "visitor" }.into(),
        customer,
    })
}

/// A conversation as agents list it.
pub fn summary(tx: &mut dyn Tx, thread_id: &str) -> StoreResult<Option<ConversationSummary>> {
    let Some(t) = tx.thread(thread_id)? else {
        return Ok(None);
    };
    let (message_count, unread_count) = tx.message_counts(thread_id)?;
    let last_message = tx.thread_messages(thread_id, 1)?.pop();
    Ok(Some(ConversationSummary {
        id: t.id,
        widget_id: t.widget_id,
        principal: principal_view(tx, &t.principal_id)?,
        status: t.status,
        created_at: t.created_at,
        updated_at: t.updated_at,
        message_count,
        unread_count,
        last_message,
    }))
}

/// A thread with its newest `limit` messages, as the visitor sees it.
fn visitor_thread(tx: &mut dyn Tx, t: &ThreadRow, limit: usize) -> StoreResult<Thread> {
    let messages = tx
        .thread_messages(&t.id, limit)?
        .into_iter()
        .map(|m| m.message)
        .collect();
    Ok(Thread {
        id: t.id.clone(),
        status: t.status,
        created_at: t.created_at,
        messages,
    })
}

/// A page of older messages of one of the principal's threads (`history`): the newest
/// `limit` (clamped to 1..=[`MAX_HISTORY_PAGE`]) stored before message `before` (before the
/// end when `None`), oldest first, as the visitor sees them, and whether older ones exist.
/// A thread that is not the principal's, or a `before` not in it, is [`StoreError::UnknownThread`].
pub fn history_page(
    tx: &mut dyn Tx,
    principal_id: &str,
    thread_id: &str,
    before: Option<&str>,
    limit: u32,
) -> StoreResult<(Vec<Message>, bool)> {
    match tx.thread(thread_id)? {
        Some(t) if t.principal_id == principal_id => {}
        _ => return Err(StoreError::UnknownThread),
    }
    let limit = limit.clamp(1, MAX_HISTORY_PAGE) as usize;
    // One more than the page: whether it is there says if older messages exist.
    let mut page = tx
        .messages_before(thread_id, before, limit + 1)?
        .ok_or(StoreError::UnknownThread)?;
    let more = page.len() > limit;
    if more {
        page.remove(0);
    }
    Ok((page.into_iter().map(|m| m.message).collect(), more))
}

/// Creates an open thread, lands pending contextual data on it (the one-shot queue is
/// consumed, sticky `ALL_PLUS_NEW` data stays), emits the events.
pub fn create_thread(
    tx: &mut dyn Tx,
    widget_id: &str,
    principal_id: &str,
    now: u64,
    fx: &mut Effects,
) -> StoreResult<String> {
    let row = ThreadRow {
        id: random_id(),
        widget_id: widget_id.to_string(),
        principal_id: principal_id.to_string(),
        status: ThreadStatus::Open,
        created_at: now,
        last_activity_at: now,
        updated_at: now,
    };
    tx.insert_thread(&row)?;
    let id = row.id;
    append_event(
        tx,
        principal_id,
        Event::ThreadOpened {
            thread: Thread {
                id: id.clone(),
                status: ThreadStatus::Open,
                created_at: now,
                messages: vec![],
            },
        },
        now,
        fx,
    )?;
    let pending = tx.pending(principal_id, false)?;
    if let Some(c) = summary(tx, &id)? {
        fx.agent.push(AgentEvent::ThreadOpened {
            widget_id: widget_id.to_string(),
            conversation: c,
        });
    }
    if !pending.is_empty() {
        tx.merge_metadata(&id, &pending)?;
        tx.clear_oneshot_pending(principal_id)?;
        fx.agent.push(AgentEvent::MetadataUpdated {
            widget_id: widget_id.to_string(),
            thread_id: id.clone(),
            metadata: tx.metadata(&id)?,
        });
    }
    Ok(id)
}

/// Changes a thread's status and tells the visitor and the agents.
pub fn set_status(
    tx: &mut dyn Tx,
    t: &ThreadRow,
    status: ThreadStatus,
    now: u64,
    fx: &mut Effects,
) -> StoreResult<()> {
    tx.set_thread_status(&t.id, status, now)?;
    append_event(
        tx,
        &t.principal_id,
        Event::ThreadStatus {
            thread_id: t.id.clone(),
            status,
        },
        now,
        fx,
    )?;
    fx.agent.push(AgentEvent::ThreadStatus {
        widget_id: t.widget_id.clone(),
        thread_id: t.id.clone(),
        status,
    });
    Ok(())
}

/// Idempotency: `Ok(None)` new, `Ok(Some(response))` the same request again, `Err(Conflict)`
/// the same key with another body or kind.
pub fn check_request(
    tx: &mut dyn Tx,
    principal_id: &str,
    req: &str,
    kind: &str,
    hash: &str,
) -> StoreResult<Option<String>> {
    match tx.request(principal_id, req)? {
        None => Ok(None),
        Some(r) if r.kind == kind && r.body_hash == hash => Ok(Some(r.response)),
        Some(_) => Err(StoreError::Conflict),
    }
}

/// Stores a visitor message unless `req.req` was seen (thread routing, idempotency).
pub fn send(tx: &mut dyn Tx, req: &SendRequest) -> StoreResult<(SendOutcome, Effects)> {
    tx.lock_principal(&req.principal_id)?;
    if let Some(resp) = check_request(tx, &req.principal_id, &req.req, "send", &req.body_hash)? {
        let message = serde_json::from_str(&resp).map_err(internal)?;
        return Ok((SendOutcome::Duplicate { message }, Effects::default()));
    }
    charge(tx, &req.principal_id, req.rate, req.now)?;
    let now = req.now;
    let mut fx = Effects::default();
    let thread_id = match &req.thread_id {
        Some(tid) => match tx.thread(tid)? {
            Some(t) if t.principal_id != req.principal_id => return Err(StoreError::UnknownThread),
            None => return Err(StoreError::UnknownThread),
            Some(t) if t.status != ThreadStatus::Open => return Err(StoreError::ThreadClosed),
            Some(_) => tid.clone(),
        },
        None if req.new_thread => create_thread(tx, &req.widget_id, &req.principal_id, now, &mut fx)?,
        None => match tx.active_open_thread(&req.principal_id)? {
            Some(t) => t,
            None => create_thread(tx, &req.widget_id, &req.principal_id, now, &mut fx)?,
        },
    };
    let c = &req.content;
    let attachment = c.attachment.as_ref().map(|a| Attachment {
        id: a.id.clone(),
        file_name: a.file_name.clone(),
        content_type: a.content_type.clone(),
        size: a.size,
        url: a
            .external_url
            .clone()
            .unwrap_or_else(|| format!("/v1/attachments/{}", a.id)),
    });
    let m = AgentMessage {
        message: livechat_protocol::Message {
            id: random_id(),
            thread_id: thread_id.clone(),
            client_id: Some(req.req.clone()),
            author: Author::Visitor,
            agent_name: None,
            text: c.text.clone(),
            attachment,
            custom: c.custom,
            created_at: message_time(tx, &thread_id, now)?,
        },
        agent_message: c.agent_message.clone(),
        custom_data: c.custom_data.clone(),
    };
    tx.insert_message(&m, c.attachment.as_ref())?;
    let visible = m.message.clone();
    append_event(
        tx,
        &req.principal_id,
        Event::Message {
            message: visible.clone(),
        },
        now,
        &mut fx,
    )?;
    fx.agent.push(AgentEvent::Message {
        widget_id: req.widget_id.clone(),
        thread_id,
        message: m,
    });
    let row = RequestRow {
        kind: "send".into(),
        body_hash: req.body_hash.clone(),
        response: serde_json::to_string(&visible).map_err(internal)?,
    };
    tx.insert_request(&req.principal_id, &req.req, &row, now)?;
    Ok((
        SendOutcome::Stored {
            message: visible,
            effects: fx.clone(),
        },
        fx,
    ))
}

/// Takes one token from the visitor's write bucket (in the principal's row, which the rule
/// has locked: the limit holds across the visitor's sockets on every node). A resent request
/// that was already stored is answered before this and costs nothing; a refused one changes
/// nothing (the savepoint rolls back).
fn charge(tx: &mut dyn Tx, principal_id: &str, limit: Option<RateLimit>, now: u64) -> StoreResult<()> {
    let Some(limit) = limit else { return Ok(()) };
    let mut b = match tx.rate_bucket(principal_id)? {
        Some((tokens, at)) => Bucket { tokens, at },
        None => Bucket::full(limit, now),
    };
    b.take(limit, now).map_err(|retry_after_ms| StoreError::RateLimited { retry_after_ms })?;
    tx.set_rate_bucket(principal_id, b.tokens, b.at)
}

/// Stores contextual data unless `req.req` was seen: targets by strategy (single-thread
/// widgets: always the active thread), the pending queue when there is no target, the
/// sticky queue for `ALL_PLUS_NEW`. Returns the result and whether it was a duplicate.
pub fn contextual_data(
    tx: &mut dyn Tx,
    req: &ContextRequest,
) -> StoreResult<((ContextResult, bool), Effects)> {
    tx.lock_principal(&req.principal_id)?;
    if let Some(resp) = check_request(tx, &req.principal_id, &req.req, "context", &req.body_hash)? {
        return Ok(((serde_json::from_str(&resp).map_err(internal)?, true), Effects::default()));
    }
    charge(tx, &req.principal_id, req.rate, req.now)?;
    let now = req.now;
    let mut fx = Effects::default();
    let strategy = if req.multi_thread {
        req.strategy
    } else {
        MultiThreadStrategy::Active
    };
    let targets: Vec<String> = match strategy {
        MultiThreadStrategy::Active => tx.active_open_thread(&req.principal_id)?.into_iter().collect(),
        MultiThreadStrategy::All | MultiThreadStrategy::AllPlusNew => tx.open_threads(&req.principal_id)?,
    };
    let entries: Vec<MetaRow> = req
        .metadata
        .iter()
        .map(|(k, v)| (k.clone(), v.to_string(), now))
        .collect();
    for tid in &targets {
        tx.merge_metadata(tid, &entries)?;
        fx.agent.push(AgentEvent::MetadataUpdated {
            widget_id: req.widget_id.clone(),
            thread_id: tid.clone(),
            metadata: tx.metadata(tid)?,
        });
    }
    let sticky = strategy == MultiThreadStrategy::AllPlusNew;
    if sticky || targets.is_empty() {
        tx.put_pending(&req.principal_id, sticky, &entries)?;
    }
    let result = ContextResult {
        queued: targets.is_empty(),
        thread_ids: targets,
    };
    let row = RequestRow {
        kind: "context".into(),
        body_hash: req.body_hash.clone(),
        response: serde_json::to_string(&result).map_err(internal)?,
    };
    tx.insert_request(&req.principal_id, &req.req, &row, now)?;
    Ok(((result, false), fx))
}

/// Ends the sessions of these token hashes (`logout` while offline, named by the next
/// `hello`); unknown ones are ignored.
pub fn end_sessions(tx: &mut dyn Tx, token_hashes: &[String]) -> StoreResult<()> {
    for h in token_hashes {
        tx.end_session(h)?;
    }
    Ok(())
}

/// A session token's principal, if the session is live: known, not ended, of this widget,
/// used within `idle_ms`. Marks it used.
pub fn resolve_session(
    tx: &mut dyn Tx,
    token_hash: &str,
    widget_id: &str,
    now: u64,
    idle_ms: u64,
) -> StoreResult<Option<(Principal, Option<u64>)>> {
    let Some(s) = tx.session(token_hash)? else {
        return Ok(None);
    };
    if s.ended || s.widget_id != widget_id || s.last_used_at.saturating_add(idle_ms) < now {
        return Ok(None);
    }
    tx.touch_session(token_hash, now)?;
    let p = tx
        .principal(&s.principal_id)?
        .ok_or_else(|| StoreError::Internal("session without principal".into()))?;
    let expiry = if p.customer.is_some() { s.auth_expires_at } else { None };
    Ok(Some((p, expiry)))
}

/// A new anonymous visitor with a session.
pub fn create_visitor(
    tx: &mut dyn Tx,
    widget_id: &str,
    token_hash: &str,
    now: u64,
) -> StoreResult<Principal> {
    let p = Principal {
        id: random_id(),
        widget_id: widget_id.to_string(),
        customer: None,
    };
    tx.insert_principal(&p, now)?;
    tx.insert_session(
        token_hash,
        &SessionRow {
            principal_id: p.id.clone(),
            widget_id: widget_id.to_string(),
            last_used_at: now,
            ended: false,
            auth_expires_at: None,
        },
        now,
    )?;
    Ok(p)
}

/// `auth` after the JWT was verified: the jti is consumed (once, across nodes: unique in
/// the database), the customer found or created; an anonymous visitor's threads, keys and
/// queued data move to it (single-thread widgets keep one open thread); the old session
/// ends and a new one starts.
pub fn authenticate(tx: &mut dyn Tx, req: &AuthRequest) -> StoreResult<(Principal, Effects)> {
    let now = req.now;
    let mut fx = Effects::default();
    if !tx.insert_jti(&req.widget_id, &req.jti, req.jti_exp_ms)? {
        return Err(StoreError::JtiReplayed);
    }
    let customer_id = match tx.find_customer(&req.widget_id, &req.customer)? {
        Some(id) => id,
        None => {
            let p = Principal {
                id: random_id(),
                widget_id: req.widget_id.clone(),
                customer: Some(req.customer.clone()),
            };
            tx.insert_principal(&p, now)?;
            p.id
        }
    };
    if req.from.customer.is_none() && req.from.id != customer_id {
        let visitor = &req.from.id;
        tx.lock_principal(visitor)?;
        tx.lock_principal(&customer_id)?;
        let moved = tx.threads_of(visitor, usize::MAX)?;
        tx.move_threads(visitor, &customer_id)?;
        tx.move_requests(visitor, &customer_id)?;
        tx.move_pending(visitor, &customer_id)?;
        for t in &moved {
            let thread = visitor_thread(tx, t, req.recent_messages)?;
            append_event(tx, &customer_id, Event::ThreadOpened { thread }, now, &mut fx)?;
            if let Some(c) = summary(tx, &t.id)? {
                fx.agent.push(AgentEvent::ThreadOpened {
                    widget_id: req.widget_id.clone(),
                    conversation: c,
                });
            }
        }
        if !req.multi_thread {
            // Keep at most one open thread: the most recently active.
            if let Some(active) = tx.active_open_thread(&customer_id)? {
                for tid in tx.open_threads(&customer_id)? {
                    if tid != active {
                        if let Some(t) = tx.thread(&tid)? {
                            set_status(tx, &t, ThreadStatus::Closed, now, &mut fx)?;
                        }
                    }
                }
            }
        }
    }
    if let Some(old) = &req.old_token_hash {
        tx.end_session(old)?;
    }
    tx.insert_session(
        &req.new_token_hash,
        &SessionRow {
            principal_id: customer_id.clone(),
            widget_id: req.widget_id.clone(),
            last_used_at: now,
            ended: false,
            auth_expires_at: req.auth_expires_ms,
        },
        now,
    )?;
    Ok((
        Principal {
            id: customer_id,
            widget_id: req.widget_id.clone(),
            customer: Some(req.customer.clone()),
        },
        fx,
    ))
}

/// Full state of a principal: newest threads with their newest messages, sticky data.
pub fn snapshot(tx: &mut dyn Tx, principal_id: &str, messages_per_thread: usize) -> StoreResult<Snapshot> {
    let last_seq = tx.head(principal_id)?;
    let rows = tx.threads_of(principal_id, SYNC_THREADS)?;
    let mut threads = Vec::with_capacity(rows.len());
    for t in &rows {
        threads.push(visitor_thread(tx, t, messages_per_thread)?);
    }
    let pending = tx
        .pending(principal_id, true)?
        .into_iter()
        .map(|(k, v, _)| (k, serde_json::from_str(&v).unwrap_or(livechat_protocol::Json::Null)))
        .collect();
    Ok(Snapshot {
        last_seq,
        threads,
        pending,
    })
}

/// An agent's reply: only into an open thread.
pub fn agent_reply(
    tx: &mut dyn Tx,
    thread_id: &str,
    agent_name: &str,
    text: &str,
    now: u64,
) -> StoreResult<(AgentMessage, Effects)> {
    let t = tx.thread(thread_id)?.ok_or(StoreError::UnknownThread)?;
    tx.lock_principal(&t.principal_id)?;
    // Re-read under the lock: another node may have moved or closed it meanwhile.
    let t = tx.thread(thread_id)?.ok_or(StoreError::UnknownThread)?;
    if t.status != ThreadStatus::Open {
        return Err(StoreError::ThreadClosed);
    }
    let mut fx = Effects::default();
    let m = AgentMessage {
        message: livechat_protocol::Message {
            id: random_id(),
            thread_id: thread_id.to_string(),
            client_id: None,
            author: Author::Agent,
            agent_name: Some(agent_name.to_string()),
            text: Some(text.to_string()),
            attachment: None,
            custom: false,
            created_at: message_time(tx, thread_id, now)?,
        },
        agent_message: None,
        custom_data: None,
    };
    tx.insert_message(&m, None)?;
    append_event(
        tx,
        &t.principal_id,
        Event::Message {
            message: m.message.clone(),
        },
        now,
        &mut fx,
    )?;
    fx.agent.push(AgentEvent::Message {
        widget_id: t.widget_id,
        thread_id: thread_id.to_string(),
        message: m.clone(),
    });
    Ok((m, fx))
}

/// An agent sets a thread's status (no event when it already has it).
pub fn agent_set_status(
    tx: &mut dyn Tx,
    thread_id: &str,
    status: ThreadStatus,
    now: u64,
) -> StoreResult<Effects> {
    let t = tx.thread(thread_id)?.ok_or(StoreError::UnknownThread)?;
    tx.lock_principal(&t.principal_id)?;
    let t = tx.thread(thread_id)?.ok_or(StoreError::UnknownThread)?;
    let mut fx = Effects::default();
    if t.status != status {
        set_status(tx, &t, status, now, &mut fx)?;
    }
    Ok(fx)
}

/// Inactivity: closes the widget's open threads idle since before `cutoff`.
pub fn close_inactive(tx: &mut dyn Tx, widget_id: &str, cutoff: u64, now: u64) -> StoreResult<Effects> {
    let mut fx = Effects::default();
    for (tid, pid) in tx.stale_open_threads(widget_id, cutoff, SWEEP_BATCH)? {
        tx.lock_principal(&pid)?;
        // Re-check under the lock (a message may have arrived on another node).
        let Some(t) = tx.thread(&tid)? else { continue };
        if t.status == ThreadStatus::Open && t.principal_id == pid && t.last_activity_at < cutoff {
            set_status(tx, &t, ThreadStatus::Closed, now, &mut fx)?;
        }
    }
    Ok(fx)
}

/// An availability event for each principal.
pub fn availability(tx: &mut dyn Tx, principal_ids: &[String], online: bool, now: u64) -> StoreResult<Effects> {
    let mut fx = Effects::default();
    for pid in principal_ids {
        tx.lock_principal(pid)?;
        append_event(tx, pid, Event::Availability { online }, now, &mut fx)?;
    }
    Ok(fx)
}

fn internal<E: std::fmt::Display>(e: E) -> StoreError {
    StoreError::Internal(e.to_string())
}
