//! Live-chat widget SDK.
//!
//! - [`core`]: the pure state machine (no web APIs), tested natively.
//! - `driver` (wasm only): defines `window.liveChat`, runs effects against the browser.
//! - `view` (wasm only): renders the core's state into a shadow root.
extern crate alloc;

pub mod core;
pub mod i18n;
pub mod linkify;
pub mod wire;

#[cfg(target_arch = "wasm32")]
mod allocator;
#[cfg(target_arch = "wasm32")]
mod driver;
#[cfg(target_arch = "wasm32")]
mod view;

/// Starts the widget in the page (called by the loader script `livechat.js`).
#[cfg(target_arch = "wasm32")]
pub use driver::boot;
/// The driver's frame decoder, exposed for the browser tests.
#[cfg(target_arch = "wasm32")]
#[doc(hidden)]
pub use driver::frames::decode as decode_server_frame;

/// A few hundred bytes of size-class allocator instead of dlmalloc (see `allocator.rs`).
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: allocator::SizeClasses = allocator::SizeClasses::new();
