//! Plain HTTP endpoints: health, widget config (with CORS), attachments, demo JWT.
//! Static files are in `static_files.rs`.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use livechat_protocol::{error_code, HttpError};
use serde::Deserialize;
use serde_json::json;

use crate::util::{now_ms, random_id};
use crate::App;

/// A JSON error response.
pub fn error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = HttpError {
        code: code.to_string(),
        message: message.to_string(),
    };
    let mut r = (status, axum::Json(body)).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// A JSON success response.
pub fn json_response<T: serde::Serialize>(status: StatusCode, body: &T) -> Response {
    let mut r = (status, axum::Json(body)).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn origin(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::ORIGIN).and_then(|v| v.to_str().ok())
}

fn allow_origin(r: &mut Response, origin: &str) {
    if let Ok(v) = HeaderValue::from_str(origin) {
        r.headers_mut()
            .insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
    }
    r.headers_mut()
        .insert(header::VARY, HeaderValue::from_static("Origin"));
}

/// `GET /healthz`: 200 while this node serves, 503 while it is draining or (in a cluster)
/// cannot reach its database — what the balancer checks (docs/deploy.md).
pub async fn healthz(State(app): State<Arc<App>>) -> Response {
    let draining = *app.shutdown.borrow();
    let db = app.cluster.as_ref().is_none_or(|c| c.ready());
    let ok = db && !draining;
    let mut body = json!({
        "ok": ok,
        "db": db,
        "draining": draining,
        "sockets": app.hub.socket_count(),
        "agents": app.hub.agent_count(),
    });
    if let Some(c) = &app.cluster {
        body["node"] = json!(c.node_id);
        body["leader"] = json!(c.is_leader());
    }
    let status = if ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    json_response(status, &body)
}

/// `GET /v1/widgets/{id}/config`.
pub async fn widget_config(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let o = origin(&headers);
    let Some(w) = app.config.widget(&id) else {
        let mut r = error(
            StatusCode::NOT_FOUND,
            error_code::UNKNOWN_WIDGET,
            "unknown widget",
        );
        if let Some(o) = o {
            allow_origin(&mut r, o);
        }
        return r;
    };
    if let Some(o) = o {
        if !w.origin_allowed(o) {
            let mut r = error(
                StatusCode::FORBIDDEN,
                error_code::ORIGIN_NOT_ALLOWED,
                "origin not allowed for this widget",
            );
            // Readable by the page, so the widget can say why instead of "network error".
            allow_origin(&mut r, o);
            return r;
        }
    }
    let mut r = json_response(StatusCode::OK, &w.public_config(app.online(w)));
    if let Some(o) = o {
        allow_origin(&mut r, o);
    }
    r
}

/// `OPTIONS /v1/widgets/{id}/config` (CORS preflight).
pub async fn widget_config_preflight(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    preflight_for(&app, Some(&id), &headers, "GET, OPTIONS")
}

fn preflight_for(
    app: &App,
    widget: Option<&str>,
    headers: &HeaderMap,
    methods: &'static str,
) -> Response {
    let mut r = StatusCode::NO_CONTENT.into_response();
    if let Some(o) = origin(headers) {
        let ok = match widget.and_then(|id| app.config.widget(id)) {
            Some(w) => w.origin_allowed(o),
            None => app.config.widgets.iter().any(|w| w.origin_allowed(o)),
        };
        if ok {
            allow_origin(&mut r, o);
            let h = r.headers_mut();
            h.insert(
                header::ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static(methods),
            );
            h.insert(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static("content-type"),
            );
            h.insert(
                header::ACCESS_CONTROL_MAX_AGE,
                HeaderValue::from_static("600"),
            );
        }
    }
    r
}

fn content_disposition(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

/// `GET /v1/attachments/{id}`: always a download, never rendered inline.
pub async fn attachment(State(app): State<Arc<App>>, Path(id): Path<String>) -> Response {
    if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return error(StatusCode::NOT_FOUND, "not_found", "unknown attachment");
    }
    let lookup = id.clone();
    let rec = match app.blocking(move |app| app.service.attachment(&lookup)).await {
        Ok(Some(r)) => r,
        Ok(None) => return error(StatusCode::NOT_FOUND, "not_found", "unknown attachment"),
        Err(_) => {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                error_code::INTERNAL,
                "internal error",
            )
        }
    };
    let Some(file) = rec.file else {
        return error(
            StatusCode::NOT_FOUND,
            "not_found",
            "attachment is an external link",
        );
    };
    let bytes = match tokio::fs::read(app.attachments_dir().join(file)).await {
        Ok(b) => b,
        Err(_) => return error(StatusCode::NOT_FOUND, "not_found", "attachment missing"),
    };
    let mut r = Response::new(Body::from(bytes));
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&rec.content_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    if let Ok(v) = HeaderValue::from_str(&content_disposition(&rec.file_name)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=86400"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    r
}

#[derive(Deserialize)]
struct MintRequest {
    sub: String,
    stp: String,
    #[serde(default)]
    widget_id: Option<String>,
}

/// `POST /demo/jwt` (only with `demo_jwt_mint = true`): `{sub, stp, widget_id?}` → `{jwt}`.
pub async fn demo_jwt(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Response {
    if !app.config.demo_jwt_mint {
        return error(StatusCode::NOT_FOUND, "not_found", "not found");
    }
    let Ok(m) = serde_json::from_slice::<MintRequest>(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "body must be {\"sub\": …, \"stp\": …}",
        );
    };
    let w = match &m.widget_id {
        Some(id) => app.config.widget(id),
        None => app.config.widgets.first(),
    };
    let Some(w) = w else {
        return error(
            StatusCode::NOT_FOUND,
            error_code::UNKNOWN_WIDGET,
            "unknown widget",
        );
    };
    let Some(key) = w.secret_keys.first() else {
        return error(
            StatusCode::CONFLICT,
            "no_key",
            "the widget has no secret key",
        );
    };
    let o = origin(&headers);
    if let Some(o) = o {
        if !w.origin_allowed(o) {
            let mut r = error(
                StatusCode::FORBIDDEN,
                error_code::ORIGIN_NOT_ALLOWED,
                "origin not allowed for this widget",
            );
            // Readable by the page, so the widget can say why instead of "network error".
            allow_origin(&mut r, o);
            return r;
        }
    }
    let now = now_ms() / 1000;
    let claims = json!({
        "jti": random_id(), "sub": m.sub, "stp": m.stp, "iss": w.id, "iat": now, "exp": now + 300, "ski": key.ski,
    });
    let jwt = crate::jwt::sign_hs256(
        &json!({"alg": "HS256", "typ": "JWT"}),
        &claims,
        &key.bytes().unwrap_or_default(),
    );
    let mut r = json_response(StatusCode::OK, &json!({ "jwt": jwt }));
    if let Some(o) = o {
        allow_origin(&mut r, o);
    }
    r
}

/// `OPTIONS /demo/jwt`.
pub async fn demo_jwt_preflight(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    preflight_for(&app, None, &headers, "POST, OPTIONS")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disposition_is_quoted_safely() {
        let d = content_disposition("a\"b\r\n.txt");
        assert!(d.starts_with("attachment; filename=\"a_b__.txt\""));
    }
}
