//! localStorage with an in-memory fallback: missing, throwing or full storage never stops
//! the widget. Values go through the browser's `JSON`, never a Rust JSON parser.

use std::collections::HashMap;

use js_sys::JSON;
use wasm_bindgen::JsValue;

use super::bridge::to_js;
use crate::core::state::{storage_key, StoredState};

/// The widget's storage: localStorage while it works, memory after it fails.
#[derive(Default)]
pub struct Store {
    memory: HashMap<String, String>,
    warned: bool,
}

impl Store {
    /// Loads a widget's state; unreadable or corrupt data reads as `None`.
    pub fn load(&mut self, widget_id: &str) -> Option<StoredState> {
        let key = storage_key(widget_id);
        let text = match local().map(|s| s.get_item(&key)) {
            Some(Ok(v)) => v,
            _ => {
                self.warn("reading");
                None
            }
        }
        .or_else(|| self.memory.get(&key).cloned())?;
        decode(&text)
    }

    /// Saves a widget's state; keeps it in memory when localStorage refuses.
    pub fn save(&mut self, state: &StoredState) {
        let key = storage_key(&state.widget_id);
        let Some(text) = JSON::stringify(&to_js(state)).ok().and_then(|t| t.as_string()) else { return };
        let written = local().map(|s| s.set_item(&key, &text).is_ok()).unwrap_or(false);
        if written {
            self.memory.remove(&key);
        } else {
            self.warn("writing");
            self.memory.insert(key, text);
        }
    }

    /// True once localStorage refused a read or a write in this page.
    pub fn failed(&self) -> bool {
        self.warned
    }

    /// Removes every key the SDK owns for a widget.
    pub fn remove(&mut self, widget_id: &str) {
        let key = storage_key(widget_id);
        self.memory.remove(&key);
        if let Some(s) = local() {
            let _ = s.remove_item(&key);
        }
    }

    fn warn(&mut self, what: &str) {
        if !self.warned {
            self.warned = true;
            web_sys::console::warn_1(
                &format!("liveChat: localStorage failed while {what}; keeping the chat in memory for this page").into(),
            );
        }
    }
}

/// Parses stored text; anything unreadable is `None` (the core then starts clean).
pub fn decode(text: &str) -> Option<StoredState> {
    let value: JsValue = JSON::parse(text).ok()?;
    serde_wasm_bindgen::from_value(value).ok()
}

fn local() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}
