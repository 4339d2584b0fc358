//! localStorage with an in-memory fallback: missing, throwing or full storage never stops
//! the widget. Values go through the browser's `JSON`, never a Rust JSON parser.

use js_sys::JSON;
use wasm_bindgen::JsValue;

use super::bridge::from_js;
use crate::core::state::{storage_key, StoredState};
use crate::core::vec_map::VecMap;
use crate::wire;

/// The widget's storage: localStorage while it works, memory after it fails.
#[derive(Default)]
pub struct Store {
    /// Entries localStorage refused (a widget or two: no hash map needed).
    memory: VecMap<String, String>,
    warned: bool,
}

impl Store {
    /// Loads a widget's state; unreadable or corrupt data reads as `None`.
    pub fn load(&mut self, widget_id: &str) -> Option<StoredState> {
        let key = storage_key(widget_id);
        let text = match local().map(|s| s.get_item(&key)) {
            Some(Ok(v)) => v,
            _ => {
                self.warn("liveChat: localStorage failed while reading; keeping the chat in memory for this page");
                None
            }
        }
        .or_else(|| self.memory.get(key.as_str()).cloned())?;
        decode(&text)
    }

    /// Saves a widget's state; keeps it in memory when localStorage refuses.
    pub fn save(&mut self, state: &StoredState) {
        let key = storage_key(&state.widget_id);
        let text = wire::write_stored_state(state);
        let written = local().map(|s| s.set_item(&key, &text).is_ok()).unwrap_or(false);
        if written {
            self.memory.remove(key.as_str());
        } else {
            self.warn("liveChat: localStorage failed while writing; keeping the chat in memory for this page");
            self.memory.insert(key, text);
        }
    }

    /// Saves what the loader needs to draw the launcher on the next page
    /// (`livechat:<id>:launcher`, see `View::launcher_snapshot`); nothing when localStorage fails.
    pub fn save_launcher(&mut self, widget_id: &str, snapshot: &str) {
        if let Some(s) = local() {
            let _ = s.set_item(&launcher_key(widget_id), snapshot);
        }
    }

    /// True once localStorage refused a read or a write in this page.
    pub fn failed(&self) -> bool {
        self.warned
    }

    /// Removes every key the SDK owns for a widget.
    pub fn remove(&mut self, widget_id: &str) {
        let key = storage_key(widget_id);
        self.memory.remove(key.as_str());
        if let Some(s) = local() {
            let _ = s.remove_item(&key);
            let _ = s.remove_item(&launcher_key(widget_id));
        }
    }

    fn warn(&mut self, message: &'static str) {
        if !self.warned {
            self.warned = true;
            web_sys::console::warn_1(&message.into());
        }
    }
}

/// Parses stored text; anything unreadable is `None` (the core then starts clean).
pub fn decode(text: &str) -> Option<StoredState> {
    let value: JsValue = JSON::parse(text).ok()?;
    wire::stored_state(&from_js(&value)?)
}

fn launcher_key(widget_id: &str) -> String {
    storage_key(widget_id) + ":launcher"
}

fn local() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}
