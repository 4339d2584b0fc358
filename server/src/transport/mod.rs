//! Transport: the visitor websocket, HTTP routes, the agent API. Decodes and authorizes
//! requests, calls [`crate::service`], encodes the answer. No SQL, no product rules.

pub mod agent;
pub mod http;
pub mod loader;
pub mod static_files;
pub mod ws;
