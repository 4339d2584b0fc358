//! The visitor websocket, `GET /v1/ws`.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message as WsMessage, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use futures::SinkExt;
use livechat_protocol::{
    error_code, ClientFrame, Customer, Event, MultiThreadStrategy, OutgoingBody, Seq, ServerFrame,
    PROTOCOL_VERSION,
};
use serde::Deserialize;
use tokio::sync::mpsc;

use super::http;
use crate::hub::Outbound;
use crate::service::rate::{Bucket, RateLimit};
use crate::service::{AuthRequest, CatchUp, SendOutcome, Service};
use crate::store::{Principal, StoreError};
use crate::util::{now_ms, random_id, sha256_hex};
use crate::{jwt, validate, App};

/// Upgrade handler. An `Origin` that no widget allows is refused here; the widget-specific
/// check happens at `hello`. Requests without `Origin` (non-browser clients) are accepted.
pub async fn ws_handler(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let origin = headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    if let Some(o) = &origin {
        if !app.config.widgets.iter().any(|w| w.origin_allowed(o)) {
            return http::error(
                StatusCode::FORBIDDEN,
                error_code::ORIGIN_NOT_ALLOWED,
                "origin not allowed",
            );
        }
    }
    if !app.ready() {
        // Draining, or this node lost its database: the balancer tries another node.
        return http::error(
            StatusCode::SERVICE_UNAVAILABLE,
            error_code::UNAVAILABLE,
            "this node is not serving right now; try again (another node will take you)",
        );
    }
    let l = &app.config.limits;
    ws.read_buffer_size(l.ws_read_buffer_bytes)
        .write_buffer_size(l.ws_write_buffer_bytes)
        .max_message_size(l.frame_max_bytes)
        .max_frame_size(l.frame_max_bytes)
        .on_upgrade(move |socket| async move {
            let conn = Conn::new(app, origin);
            conn.run(socket).await
        })
}

enum Flow {
    Continue,
    Close(u16, &'static str),
}

struct Conn {
    app: Arc<App>,
    id: u64,
    origin: Option<String>,
    widget: Option<usize>,
    principal: Option<Principal>,
    session_hash: Option<String>,
    rx: Option<mpsc::Receiver<Outbound>>,
    /// The last event sequence sent on this socket (live events at or below it are duplicates).
    last_seq: Seq,
    /// This socket's frame bucket (the visitor's write bucket is in the store).
    bucket: (Bucket, RateLimit),
    /// When the customer's JWT expires (ms): from then on the widget must `auth` again.
    auth_expires: Option<u64>,
    /// `reauth_required` was sent for the current expiry.
    reauth_told: bool,
}

#[derive(Deserialize)]
struct ReqOnly {
    req: Option<String>,
}

fn req_of(text: &str) -> Option<String> {
    if text.len() > 64 * 1024 {
        return None;
    }
    serde_json::from_str::<ReqOnly>(text)
        .ok()
        .and_then(|r| r.req)
}

fn error_frame(req: Option<String>, code: &str, message: impl Into<String>) -> ServerFrame {
    ServerFrame::Error {
        req,
        code: code.to_string(),
        message: message.into(),
        retry_after_ms: None,
    }
}

fn store_error(req: &str, e: StoreError) -> ServerFrame {
    let req = Some(req.to_string());
    match e {
        StoreError::Conflict => error_frame(
            req,
            error_code::IDEMPOTENCY_CONFLICT,
            "this req was already used with a different body",
        ),
        StoreError::UnknownThread => error_frame(req, error_code::UNKNOWN_THREAD, "unknown thread"),
        StoreError::ThreadClosed => {
            error_frame(req, error_code::THREAD_CLOSED, "the thread is not open")
        }
        StoreError::JtiReplayed => error_frame(
            req,
            error_code::INVALID_TOKEN,
            "jti was already used (tokens are single-use)",
        ),
        StoreError::RateLimited { retry_after_ms } => ServerFrame::Error {
            req,
            code: error_code::RATE_LIMITED.into(),
            message: "too many messages from this visitor; slow down".into(),
            retry_after_ms: Some(retry_after_ms),
        },
        StoreError::Internal(m) => {
            eprintln!("internal error: {m}");
            error_frame(req, error_code::INTERNAL, "internal error")
        }
    }
}

/// Resolves when the customer's JWT expires.
async fn reauth_at(expires_ms: Option<u64>) {
    let wait = expires_ms.unwrap_or(u64::MAX).saturating_sub(now_ms());
    tokio::time::sleep(Duration::from_millis(wait.min(10 * 365 * 24 * 3600 * 1000))).await;
}

async fn recv_opt(rx: &mut Option<mpsc::Receiver<Outbound>>) -> Option<Outbound> {
    match rx {
        Some(r) => r.recv().await,
        None => std::future::pending().await,
    }
}

async fn send_frame(socket: &mut WebSocket, frame: &ServerFrame) -> bool {
    match serde_json::to_string(frame) {
        Ok(s) => socket.send(WsMessage::Text(s.into())).await.is_ok(),
        Err(_) => false,
    }
}

async fn close(socket: &mut WebSocket, code: u16, reason: &'static str) {
    let _ = socket
        .send(WsMessage::Close(Some(CloseFrame {
            code,
            reason: Utf8Bytes::from_static(reason),
        })))
        .await;
}

impl Conn {
    fn new(app: Arc<App>, origin: Option<String>) -> Conn {
        let l = &app.config.limits;
        let limit = RateLimit { per_sec: l.rate_limit_per_sec, burst: l.rate_limit_burst };
        let bucket = (Bucket::full(limit, now_ms()), limit);
        Conn {
            id: app.conn_id(),
            app,
            origin,
            widget: None,
            principal: None,
            session_hash: None,
            rx: None,
            last_seq: 0,
            bucket,
            auth_expires: None,
            reauth_told: false,
        }
    }

    async fn run(mut self, mut socket: WebSocket) {
        let mut shutdown = self.app.shutdown.clone();
        let idle_secs = self.app.config.limits.ws_idle_timeout_secs;
        let idle = if idle_secs == 0 {
            Duration::from_secs(100 * 365 * 24 * 3600)
        } else {
            Duration::from_secs(idle_secs)
        };
        let sleep = tokio::time::sleep(idle);
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                _ = shutdown.changed() => {
                    // 1012 (service restart): reconnect now, another node takes over.
                    close(&mut socket, 1012, "server restarting; reconnect").await;
                    break;
                }
                out = recv_opt(&mut self.rx) => match out {
                    Some(o) => {
                        let current = self.principal.as_ref().map(|p| p.id.as_str());
                        if current == Some(&*o.principal) && o.seq > self.last_seq {
                            self.last_seq = o.seq;
                            if socket.send(WsMessage::Text(o.text)).await.is_err() {
                                break;
                            }
                        }
                    }
                    None => {
                        close(&mut socket, 1013, "too slow; reconnect and resume").await;
                        break;
                    }
                },
                msg = socket.recv() => {
                    sleep.as_mut().reset(tokio::time::Instant::now() + idle);
                    match msg {
                        None | Some(Ok(WsMessage::Close(_))) => break,
                        Some(Err(e)) => {
                            let s = e.to_string();
                            if s.contains("too long") || s.contains("Space limit") || s.contains("Capacity") {
                                let limit = self.app.config.limits.frame_max_bytes;
                                let f = error_frame(None, error_code::FRAME_TOO_LARGE, format!("frame larger than {limit} bytes"));
                                send_frame(&mut socket, &f).await;
                                close(&mut socket, 1009, "frame too large").await;
                            }
                            break;
                        }
                        Some(Ok(WsMessage::Text(t))) => match self.handle_text(&mut socket, t.as_str()).await {
                            Flow::Continue => {}
                            Flow::Close(code, reason) => {
                                close(&mut socket, code, reason).await;
                                break;
                            }
                        },
                        Some(Ok(WsMessage::Binary(_))) => {
                            let f = error_frame(None, error_code::MALFORMED_FRAME, "binary frames are not supported; send JSON text");
                            if !send_frame(&mut socket, &f).await { break; }
                        }
                        Some(Ok(_)) => {}
                    }
                }
                _ = &mut sleep => {
                    close(&mut socket, 1000, "idle").await;
                    break;
                }
                _ = reauth_at(self.auth_expires), if self.auth_expires.is_some() && !self.reauth_told => {
                    if !self.tell_reauth(&mut socket).await {
                        break;
                    }
                }
            }
        }
        if let Some(p) = &self.principal {
            self.app.hub.unregister(self.id, &p.id);
        }
    }

    async fn handle_text(&mut self, socket: &mut WebSocket, text: &str) -> Flow {
        let (bucket, limit) = &mut self.bucket;
        if let Err(retry) = bucket.take(*limit, now_ms()) {
            let f = ServerFrame::Error {
                req: req_of(text),
                code: error_code::RATE_LIMITED.into(),
                message: "too many frames; slow down".into(),
                retry_after_ms: Some(retry),
            };
            return self.reply(socket, &f).await;
        }
        let frame: ClientFrame = match serde_json::from_str(text) {
            Ok(f) => f,
            Err(e) => {
                // serde's message quotes the input: cut on a character boundary.
                let msg: String = e.to_string().chars().take(200).collect();
                let f = error_frame(
                    req_of(text),
                    error_code::MALFORMED_FRAME,
                    format!("malformed frame: {msg}"),
                );
                return self.reply(socket, &f).await;
            }
        };
        if self.principal.is_none() {
            return match frame {
                ClientFrame::Hello {
                    protocol,
                    widget_id,
                    session,
                    last_seq,
                    end_sessions,
                } => {
                    self.hello(socket, protocol, widget_id, session, last_seq, end_sessions)
                        .await
                }
                _ => {
                    let f =
                        error_frame(None, error_code::BAD_HELLO, "the first frame must be hello");
                    send_frame(socket, &f).await;
                    Flow::Close(1008, "hello required")
                }
            };
        }
        match frame {
            ClientFrame::Hello { .. } => {
                let f = error_frame(
                    None,
                    error_code::BAD_HELLO,
                    "hello was already received on this socket",
                );
                self.reply(socket, &f).await
            }
            ClientFrame::Ping { nonce } => self.reply(socket, &ServerFrame::Pong { nonce }).await,
            ClientFrame::Send { .. } | ClientFrame::ContextualData { .. } if !self.app.ready() => {
                // Never ack what is not committed: tell the widget, close, and let it send
                // its outbox again through the balancer (to a node that can commit).
                let f = error_frame(
                    None,
                    error_code::UNAVAILABLE,
                    "this node lost its database; reconnect (nothing was stored, send again)",
                );
                let _ = send_frame(socket, &f).await;
                Flow::Close(1012, "database unavailable; reconnect")
            }
            ClientFrame::Send {
                req,
                thread_id,
                new_thread,
                body,
            } => self.send(socket, req, thread_id, new_thread, body).await,
            ClientFrame::ContextualData {
                req,
                metadata,
                strategy,
            } => self.contextual(socket, req, metadata, strategy).await,
            ClientFrame::Auth { req, jwt } => self.auth(socket, req, jwt).await,
            ClientFrame::Logout { req } => self.logout(socket, req).await,
            ClientFrame::History {
                req,
                thread_id,
                before,
                limit,
            } => self.history(socket, req, thread_id, before, limit).await,
        }
    }

    async fn reply(&self, socket: &mut WebSocket, f: &ServerFrame) -> Flow {
        if send_frame(socket, f).await {
            Flow::Continue
        } else {
            Flow::Close(1011, "send failed")
        }
    }

    /// True when the customer's JWT has expired: sends wait for a fresh `auth`.
    fn reauth_due(&self) -> bool {
        Service::reauth_due(self.auth_expires, now_ms())
    }

    /// Tells the widget (connection-level error) that the customer must `auth` again.
    async fn tell_reauth(&mut self, socket: &mut WebSocket) -> bool {
        self.reauth_told = true;
        let f = error_frame(
            None,
            error_code::REAUTH_REQUIRED,
            "the customer's token expired; call auth with a fresh JWT (messages wait until then)",
        );
        send_frame(socket, &f).await
    }

    /// Refuses a customer's request while the JWT behind the session has expired.
    fn reauth_refusal(&self, req: &str) -> Option<ServerFrame> {
        self.reauth_due().then(|| {
            error_frame(
                Some(req.to_string()),
                error_code::REAUTH_REQUIRED,
                "the customer's token expired; call auth with a fresh JWT, then send again",
            )
        })
    }

    fn widget(&self) -> &crate::config::WidgetSettings {
        &self.app.config.widgets[self.widget.unwrap_or(0)]
    }

    fn valid_req(req: &str) -> Result<(), Box<ServerFrame>> {
        if req.is_empty() || req.len() > 128 {
            return Err(Box::new(error_frame(
                Some(req.chars().take(128).collect()),
                error_code::INVALID_MESSAGE,
                "req must be 1 to 128 bytes",
            )));
        }
        Ok(())
    }

    async fn hello(
        &mut self,
        socket: &mut WebSocket,
        protocol: u32,
        widget_id: String,
        session: Option<String>,
        last_seq: Seq,
        end_sessions: Vec<String>,
    ) -> Flow {
        if protocol != PROTOCOL_VERSION {
            let f = error_frame(
                None,
                error_code::BAD_HELLO,
                format!("unsupported protocol {protocol}; this server speaks {PROTOCOL_VERSION}"),
            );
            send_frame(socket, &f).await;
            return Flow::Close(1002, "unsupported protocol");
        }
        let Some(widx) = self
            .app
            .config
            .widgets
            .iter()
            .position(|w| w.id == widget_id)
        else {
            send_frame(
                socket,
                &error_frame(None, error_code::UNKNOWN_WIDGET, "unknown widget"),
            )
            .await;
            return Flow::Close(1008, "unknown widget");
        };
        if let Some(o) = &self.origin {
            if !self.app.config.widgets[widx].origin_allowed(o) {
                let f = error_frame(
                    None,
                    error_code::ORIGIN_NOT_ALLOWED,
                    "this origin may not use this widget",
                );
                send_frame(socket, &f).await;
                return Flow::Close(1008, "origin not allowed");
            }
        }
        let (tx, rx) = mpsc::channel(self.app.config.limits.ws_outbound_queue.max(16));
        let conn = self.id;
        let result = self
            .app
            .blocking(move |app| {
                let w = &app.config.widgets[widx];
                // Sessions the visitor ended while offline end first (service::Service::hello).
                let opened = app.service.hello(w, session, &end_sessions, now_ms())?;
                // Register first, then read: nothing committed later can be missed; events both
                // read here and delivered live are dropped by sequence number.
                app.hub.register(conn, &opened.principal.id, &w.id, tx);
                let caught = app.service.catch_up(&opened.principal.id, last_seq, opened.fresh);
                if caught.is_err() {
                    app.hub.unregister(conn, &opened.principal.id);
                }
                Ok((opened, caught?))
            })
            .await;
        let (opened, replay) = match result {
            Ok(r) => r,
            Err(e) => {
                send_frame(socket, &store_error("", e)).await;
                return Flow::Close(1011, "internal error");
            }
        };
        let (principal, token, hash, auth_expires) =
            (opened.principal, opened.token, opened.token_hash, opened.auth_expires);
        self.widget = Some(widx);
        let online = self.app.online(&self.app.config.widgets[widx]);
        let welcome = ServerFrame::Welcome {
            protocol: PROTOCOL_VERSION,
            session: token,
            customer: principal.customer.clone(),
            resumed: matches!(replay, CatchUp::Resume(_)),
            online,
        };
        self.principal = Some(principal);
        self.session_hash = Some(hash);
        self.auth_expires = auth_expires;
        self.reauth_told = false;
        self.rx = Some(rx);
        if !send_frame(socket, &welcome).await {
            return Flow::Close(1011, "send failed");
        }
        self.last_seq = last_seq;
        match replay {
            CatchUp::Resume(events) => {
                for (seq, mut event) in events {
                    self.last_seq = seq;
                    // Availability is state: replay it with today's value.
                    if let Event::Availability { online: o } = &mut event {
                        *o = online;
                    }
                    let s = serde_json::to_string(&ServerFrame::Event { seq, event })
                        .unwrap_or_default();
                    if socket.feed(WsMessage::Text(s.into())).await.is_err() {
                        return Flow::Close(1011, "send failed");
                    }
                }
                if socket.flush().await.is_err() {
                    return Flow::Close(1011, "send failed");
                }
            }
            CatchUp::Sync(snap) => {
                self.last_seq = snap.last_seq;
                let f = ServerFrame::Sync {
                    last_seq: snap.last_seq,
                    threads: snap.threads,
                    pending_metadata: if snap.pending.is_empty() {
                        None
                    } else {
                        Some(snap.pending)
                    },
                };
                if !send_frame(socket, &f).await {
                    return Flow::Close(1011, "send failed");
                }
            }
        }
        if self.reauth_due() && !self.tell_reauth(socket).await {
            return Flow::Close(1011, "send failed");
        }
        Flow::Continue
    }

    async fn send(
        &mut self,
        socket: &mut WebSocket,
        req: String,
        thread_id: Option<String>,
        new_thread: bool,
        body: OutgoingBody,
    ) -> Flow {
        if let Err(f) = Self::valid_req(&req) {
            return self.reply(socket, &f).await;
        }
        if let Some(f) = self.reauth_refusal(&req) {
            return self.reply(socket, &f).await;
        }
        let widx = self.widget.unwrap_or(0);
        let principal_id = self
            .principal
            .as_ref()
            .map(|p| p.id.clone())
            .unwrap_or_default();
        let result = self
            .store_send(req.clone(), principal_id, widx, thread_id, new_thread, body)
            .await;
        let frame = match result {
            Ok(Ok(SendOutcome::Stored { message, .. } | SendOutcome::Duplicate { message })) => {
                ServerFrame::Ack { req, message }
            }
            Ok(Err(rej)) => error_frame(Some(req), rej.code, rej.message),
            Err(e) => store_error(&req, e),
        };
        self.reply(socket, &frame).await
    }

    /// Validates a `send` and queues it for the store; resolves once it is durable. Only a
    /// body with an attachment (decoded and written to disk) needs a blocking thread.
    async fn store_send(
        &self,
        req: String,
        principal_id: String,
        widx: usize,
        thread_id: Option<String>,
        new_thread: bool,
        body: OutgoingBody,
    ) -> Result<Result<SendOutcome, validate::Reject>, StoreError> {
        let has_attachment = matches!(&body, OutgoingBody::Basic { attachment: Some(_), .. });
        let prepare = move |app: &App| {
            let w = &app.config.widgets[widx];
            app.service.prepare_send(w, principal_id, req, thread_id, new_thread, body, &app.attachments_dir(), now_ms())
        };
        let sreq = if has_attachment {
            match self.app.blocking(move |app| Ok(prepare(app))).await? {
                Ok(s) => s,
                Err(rej) => return Ok(Err(rej)),
            }
        } else {
            match prepare(&self.app) {
                Ok(s) => s,
                Err(rej) => return Ok(Err(rej)),
            }
        };
        let file = sreq.content.attachment.as_ref().and_then(|a| a.file.clone());
        let outcome = self.app.service.send(sreq).await;
        if let (Some(f), false) = (file, matches!(outcome, Ok(SendOutcome::Stored { .. }))) {
            // Not stored (duplicate or error): the decoded file is an orphan.
            let path = self.app.attachments_dir().join(f);
            let _ = self.app.blocking(move |_| Ok(std::fs::remove_file(path))).await;
        }
        outcome.map(Ok)
    }

    async fn contextual(
        &mut self,
        socket: &mut WebSocket,
        req: String,
        metadata: std::collections::BTreeMap<String, livechat_protocol::Json>,
        strategy: MultiThreadStrategy,
    ) -> Flow {
        if let Err(f) = Self::valid_req(&req) {
            return self.reply(socket, &f).await;
        }
        if let Some(f) = self.reauth_refusal(&req) {
            return self.reply(socket, &f).await;
        }
        let w = self.widget();
        let principal_id = self.principal.as_ref().map(|p| p.id.clone()).unwrap_or_default();
        let creq = match self.app.service.prepare_context(w, principal_id, req.clone(), metadata, strategy, now_ms()) {
            Ok(c) => c,
            Err(rej) => {
                return self
                    .reply(socket, &error_frame(Some(req), rej.code, rej.message))
                    .await
            }
        };
        let result = self.app.service.contextual_data(creq).await.map(|(res, _dup)| res);
        let frame = match result {
            Ok(r) => ServerFrame::ContextAck {
                req,
                thread_ids: r.thread_ids,
                queued: r.queued,
            },
            Err(e) => store_error(&req, e),
        };
        self.reply(socket, &frame).await
    }

    /// A page of older messages of one of the principal's threads.
    async fn history(
        &mut self,
        socket: &mut WebSocket,
        req: String,
        thread_id: String,
        before: Option<String>,
        limit: u32,
    ) -> Flow {
        if let Err(f) = Self::valid_req(&req) {
            return self.reply(socket, &f).await;
        }
        if let Some(f) = self.reauth_refusal(&req) {
            return self.reply(socket, &f).await;
        }
        if thread_id.len() > 128 || before.as_ref().is_some_and(|b| b.len() > 128) {
            return self.reply(socket, &store_error(&req, StoreError::UnknownThread)).await;
        }
        let principal_id = self.principal.as_ref().map(|p| p.id.clone()).unwrap_or_default();
        let t = thread_id.clone();
        let result = self
            .app
            .blocking(move |app| app.service.history(&principal_id, &t, before.as_deref(), limit))
            .await;
        let frame = match result {
            Ok((messages, more)) => ServerFrame::HistoryPage {
                req,
                thread_id,
                messages,
                more,
            },
            Err(e) => store_error(&req, e),
        };
        self.reply(socket, &frame).await
    }

    async fn auth(&mut self, socket: &mut WebSocket, req: String, token: String) -> Flow {
        if let Err(f) = Self::valid_req(&req) {
            return self.reply(socket, &f).await;
        }
        let now = now_ms();
        let w = self.widget();
        let verified = match jwt::verify(&token, w, now / 1000) {
            Ok(v) => v,
            Err(rule) => {
                return self
                    .reply(
                        socket,
                        &error_frame(
                            Some(req),
                            error_code::INVALID_TOKEN,
                            format!("invalid token: {rule}"),
                        ),
                    )
                    .await;
            }
        };
        let Some(from) = self.principal.clone() else {
            return Flow::Close(1011, "no principal");
        };
        let new_token = random_id();
        let auth_expires = w.reauth_on_token_expiry.then(|| verified.exp.saturating_mul(1000));
        let areq = AuthRequest {
            widget_id: w.id.clone(),
            multi_thread: w.multi_thread,
            from: from.clone(),
            old_token_hash: self.session_hash.clone(),
            new_token_hash: sha256_hex(new_token.as_bytes()),
            customer: Customer {
                subject: verified.subject,
                subject_type: verified.subject_type,
            },
            jti: verified.jti,
            jti_exp_ms: verified.exp.saturating_mul(1000),
            auth_expires_ms: auth_expires,
            recent_messages: self.app.config.limits.sync_messages_per_thread,
            now,
        };
        let conn = self.id;
        let result = self
            .app
            .blocking(move |app| {
                let p = app.service.authenticate(areq)?;
                let moved = app.hub.move_conn(conn, &from.id, &p.id, &p.widget_id);
                let snap = app.service.snapshot(&p.id)?;
                Ok((p, snap, moved))
            })
            .await;
        let (principal, snap, moved) = match result {
            Ok(r) => r,
            Err(e) => return self.reply(socket, &store_error(&req, e)).await,
        };
        let customer = principal.customer.clone().unwrap_or(Customer {
            subject: String::new(),
            subject_type: String::new(),
        });
        self.principal = Some(principal);
        self.last_seq = snap.last_seq;
        self.session_hash = Some(sha256_hex(new_token.as_bytes()));
        self.auth_expires = auth_expires;
        self.reauth_told = false;
        if !moved {
            // The socket had been dropped for being slow: the client reconnects with the new session.
            self.rx = None;
        }
        let ok = ServerFrame::AuthOk {
            req,
            customer,
            session: new_token,
        };
        if !send_frame(socket, &ok).await {
            return Flow::Close(1011, "send failed");
        }
        let sync = ServerFrame::Sync {
            last_seq: snap.last_seq,
            threads: snap.threads,
            pending_metadata: if snap.pending.is_empty() {
                None
            } else {
                Some(snap.pending)
            },
        };
        if !send_frame(socket, &sync).await {
            return Flow::Close(1011, "send failed");
        }
        if !moved {
            return Flow::Close(1013, "too slow; reconnect and resume");
        }
        Flow::Continue
    }

    async fn logout(&mut self, socket: &mut WebSocket, req: String) -> Flow {
        let authenticated = self
            .principal
            .as_ref()
            .is_some_and(|p| p.customer.is_some());
        if !authenticated {
            return self
                .reply(
                    socket,
                    &error_frame(
                        Some(req),
                        error_code::NOT_AUTHENTICATED,
                        "not authenticated",
                    ),
                )
                .await;
        }
        let Some(hash) = self.session_hash.clone() else {
            return Flow::Close(1011, "no session");
        };
        let result = self
            .app
            .blocking(move |app| app.service.end_session(&hash))
            .await;
        match result {
            Ok(()) => {
                send_frame(socket, &ServerFrame::LoggedOut { req }).await;
                Flow::Close(1000, "logged out")
            }
            Err(e) => self.reply(socket, &store_error(&req, e)).await,
        }
    }
}
