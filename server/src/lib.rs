//! Reference backend of the live-chat widget: widget configuration over HTTP, the visitor
//! websocket (`/v1/ws`), storage (embedded SQLite or PostgreSQL), and the agent /
//! integration API.
//!
//! Three layers, each importing only the ones below it:
//!
//! - [`transport`]: the websocket loop and handshake, HTTP and agent routes — decode,
//!   authorize, call the service, encode;
//! - [`service`]: the product's rules over the [`store::Store`] trait;
//! - [`store`]: SQL only (rows in, rows out, transactions, migrations).
//!
//! [`app`] wires them together. `docs/server.md` describes the CLI, the configuration and
//! the limits; `docs/agent-api.md` the agent API.

pub mod app;
pub mod cluster;
pub mod config;
pub mod hub;
pub mod jwt;
pub mod service;
pub mod store;
pub mod transport;
pub mod util;
pub mod validate;

use std::sync::Arc;

use axum::routing::{get, post};
use axum::Router;

pub use app::{start, start_with_store, App, RunningServer, ServerOptions, StoreSpec};

/// Builds the router.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/healthz", get(transport::http::healthz))
        .route(
            "/v1/widgets/{id}/config",
            get(transport::http::widget_config).options(transport::http::widget_config_preflight),
        )
        .route("/v1/ws", get(transport::ws::ws_handler))
        .route("/v1/attachments/{id}", get(transport::http::attachment))
        .route(
            "/demo/jwt",
            post(transport::http::demo_jwt).options(transport::http::demo_jwt_preflight),
        )
        .route(
            "/v1/conversations",
            get(transport::agent::list).options(transport::agent::preflight),
        )
        .route(
            "/v1/conversations/{id}",
            get(transport::agent::get_one).options(transport::agent::preflight),
        )
        .route(
            "/v1/conversations/{id}/messages",
            get(transport::agent::messages)
                .post(transport::agent::reply)
                .options(transport::agent::preflight),
        )
        .route(
            "/v1/conversations/{id}/status",
            post(transport::agent::set_status).options(transport::agent::preflight),
        )
        .route(
            "/v1/conversations/{id}/metadata",
            get(transport::agent::metadata).options(transport::agent::preflight),
        )
        .route("/v1/agent/events", get(transport::agent::events))
        .fallback(transport::static_files::serve)
        .with_state(app)
}

