//! Agent / integration API (`Authorization: Bearer <token>`), documented in `docs/agent-api.md`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::ws::{CloseFrame, Message as WsMessage, Utf8Bytes, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use livechat_protocol::{error_code, ThreadStatus};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;

use crate::config::AgentToken;
use super::http::{error, json_response};
use crate::store::{StoreError, StoreResult};
use crate::util::{ct_eq, now_ms};
use crate::App;

fn find_token<'a>(app: &'a App, token: &str) -> Option<&'a AgentToken> {
    // Compare against every token so timing does not reveal which one matched.
    let mut found = None;
    for a in &app.config.agents {
        if ct_eq(a.token.as_bytes(), token.as_bytes()) {
            found = Some(a);
        }
    }
    found
}

fn cors(mut r: Response) -> Response {
    r.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    r
}

fn authorize<'a>(app: &'a App, headers: &HeaderMap) -> Result<&'a AgentToken, Box<Response>> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim);
    match token.and_then(|t| find_token(app, t)) {
        Some(a) => Ok(a),
        None => {
            let mut r = error(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "missing or unknown bearer token",
            );
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            Err(Box::new(cors(r)))
        }
    }
}

/// The answer for a read or change of one conversation: `200` with `body(found)`, `404`
/// when there is no such conversation, or the store's failure.
fn one_conversation<T>(r: StoreResult<Option<T>>, body: impl FnOnce(T) -> serde_json::Value) -> Response {
    match r {
        Ok(Some(found)) => cors(json_response(StatusCode::OK, &body(found))),
        Ok(None) => store_failure(StoreError::UnknownThread),
        Err(e) => store_failure(e),
    }
}

fn store_failure(e: StoreError) -> Response {
    cors(match e {
        StoreError::UnknownThread => error(
            StatusCode::NOT_FOUND,
            error_code::UNKNOWN_THREAD,
            "unknown conversation",
        ),
        StoreError::ThreadClosed => error(
            StatusCode::CONFLICT,
            error_code::THREAD_CLOSED,
            "the conversation is not open",
        ),
        other => {
            eprintln!("agent api: {other}");
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                error_code::INTERNAL,
                "internal error",
            )
        }
    })
}

fn parse_status(s: &str) -> Option<ThreadStatus> {
    ThreadStatus::parse(&s.to_ascii_uppercase())
}

/// CORS preflight for the agent API (bearer tokens, no cookies: any origin may call).
pub async fn preflight() -> Response {
    let mut r = StatusCode::NO_CONTENT.into_response();
    let h = r.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST, OPTIONS"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("authorization, content-type"),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    r
}

/// Query of `GET /v1/conversations`.
#[derive(Deserialize)]
pub struct ListQuery {
    widget_id: Option<String>,
    status: Option<String>,
    limit: Option<usize>,
}

/// `GET /v1/conversations?widget_id=&status=&limit=`.
pub async fn list(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> Response {
    if let Err(r) = authorize(&app, &headers) {
        return *r;
    }
    let status = match q.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => match parse_status(s) {
            Some(st) => Some(st),
            None => {
                return cors(error(
                    StatusCode::BAD_REQUEST,
                    "bad_request",
                    "status must be OPEN, SOLVED or CLOSED",
                ))
            }
        },
    };
    let widget = q.widget_id.filter(|s| !s.is_empty());
    let limit = q.limit.unwrap_or(200).clamp(1, 1000);
    match app
        .blocking(move |app| {
            app.service
                .list_conversations(widget.as_deref(), status, limit)
        })
        .await
    {
        Ok(list) => cors(json_response(
            StatusCode::OK,
            &json!({ "conversations": list }),
        )),
        Err(e) => store_failure(e),
    }
}

/// `GET /v1/conversations/{id}`.
pub async fn get_one(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(r) = authorize(&app, &headers) {
        return *r;
    }
    let found = app.blocking(move |app| app.service.conversation(&id)).await;
    one_conversation(found, |c| json!({ "conversation": c }))
}

/// `GET /v1/conversations/{id}/messages`.
pub async fn messages(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(r) = authorize(&app, &headers) {
        return *r;
    }
    let tid = id.clone();
    let found = app.blocking(move |app| app.service.conversation_messages(&tid)).await;
    one_conversation(found, |m| json!({ "thread_id": id, "messages": m }))
}

#[derive(Deserialize)]
struct ReplyBody {
    text: String,
}

/// `POST /v1/conversations/{id}/messages` `{text}`: reply as the token's agent.
pub async fn reply(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let agent = match authorize(&app, &headers) {
        Ok(a) => a.name.clone(),
        Err(r) => return *r,
    };
    let Ok(b) = serde_json::from_slice::<ReplyBody>(&body) else {
        return cors(error(
            StatusCode::BAD_REQUEST,
            error_code::INVALID_MESSAGE,
            "body must be {\"text\": \"…\"}",
        ));
    };
    if b.text.trim().is_empty() || b.text.chars().count() > app.config.limits.text_max_chars {
        return cors(error(
            StatusCode::BAD_REQUEST,
            error_code::INVALID_MESSAGE,
            "text must be non-empty and within the length limit",
        ));
    }
    match app
        .blocking(move |app| app.service.agent_reply(&id, &agent, &b.text, now_ms()))
        .await
    {
        Ok(m) => cors(json_response(StatusCode::CREATED, &json!({ "message": m }))),
        Err(e) => store_failure(e),
    }
}

#[derive(Deserialize)]
struct StatusBody {
    status: String,
}

/// `POST /v1/conversations/{id}/status` `{status: "SOLVED" | "CLOSED"}`.
pub async fn set_status(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    if let Err(r) = authorize(&app, &headers) {
        return *r;
    }
    let status = match serde_json::from_slice::<StatusBody>(&body)
        .ok()
        .and_then(|b| parse_status(&b.status))
    {
        Some(s @ (ThreadStatus::Solved | ThreadStatus::Closed)) => s,
        _ => {
            return cors(error(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "body must be {\"status\": \"SOLVED\" | \"CLOSED\"}",
            ))
        }
    };
    let changed = app.blocking(move |app| app.service.set_status(&id, status, now_ms())).await;
    one_conversation(changed, |c| json!({ "conversation": c }))
}

/// `GET /v1/conversations/{id}/metadata` (spec 000 "Get Metadata").
pub async fn metadata(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(r) = authorize(&app, &headers) {
        return *r;
    }
    let tid = id.clone();
    let found = app.blocking(move |app| app.service.conversation_metadata(&tid)).await;
    one_conversation(found, |m| json!({ "thread_id": id, "metadata": m }))
}

/// Query of the event stream.
#[derive(Deserialize)]
pub struct EventsQuery {
    token: Option<String>,
}

/// `GET /v1/agent/events?token=…`: websocket of [`crate::store::AgentEvent`] JSON frames.
pub async fn events(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Query(q): Query<EventsQuery>,
    ws: WebSocketUpgrade,
) -> Response {
    let agent = match q.token.as_deref().and_then(|t| find_token(&app, t)) {
        Some(a) => a.name.clone(),
        None => match authorize(&app, &headers) {
            Ok(a) => a.name.clone(),
            Err(r) => return *r,
        },
    };
    ws.read_buffer_size(4096).write_buffer_size(4096).max_message_size(64 * 1024).on_upgrade(move |mut socket| async move {
        let mut rx = app.hub.subscribe_agent();
        let a2 = app.clone();
        let _ = a2.blocking(|app| {
            app.agent_presence(true);
            Ok(())
        })
        .await;
        let hello = json!({"type": "ready", "agent": agent}).to_string();
        let mut shutdown = app.shutdown.clone();
        // A cluster node closes its agent streams after its database connection came back
        // (events of other nodes may have been missed; the console reloads on reconnect).
        let mut resets = app.cluster.as_ref().map(|c| c.agent_resets());
        if socket.send(WsMessage::Text(hello.into())).await.is_ok() {
            loop {
                tokio::select! {
                    _ = shutdown.changed() => {
                        let _ = socket.send(WsMessage::Close(Some(CloseFrame { code: 1012, reason: Utf8Bytes::from_static("server restarting; reconnect") }))).await;
                        break;
                    }
                    Ok(()) = async { match resets.as_mut() { Some(r) => r.changed().await, None => std::future::pending().await } } => {
                        let _ = socket.send(WsMessage::Close(Some(CloseFrame { code: 1012, reason: Utf8Bytes::from_static("reconnect and reload") }))).await;
                        break;
                    }
                    ev = rx.recv() => match ev {
                        Ok(text) => if socket.send(WsMessage::Text(text)).await.is_err() { break },
                        Err(RecvError::Lagged(_)) => {
                            let _ = socket.send(WsMessage::Close(Some(CloseFrame { code: 1013, reason: Utf8Bytes::from_static("lagged; reconnect") }))).await;
                            break;
                        }
                        Err(RecvError::Closed) => break,
                    },
                    msg = socket.recv() => match msg {
                        None | Some(Err(_)) | Some(Ok(WsMessage::Close(_))) => break,
                        Some(Ok(_)) => {}
                    }
                }
            }
        }
        let _ = app
            .blocking(|app| {
                app.agent_presence(false);
                Ok(())
            })
            .await;
    })
}
