//! Large attachments of outbox items live in IndexedDB until acked, so a reload never loses
//! them (localStorage holds ~5 MB; the spec allows 10 MB files, 13.4 MB as base64).
//!
//! Writing: a base64 content over [`INLINE_MAX`] is written to IndexedDB (database
//! `livechat`, store `attachments`, key `<widgetId>/<outbox item id>`) first; the
//! localStorage text, written once that transaction has committed, holds `idb:<key>`
//! instead of the content. Reading: the references of a stored state (a reload, another
//! tab's write) are read back before the core sees it. A blob no longer in the outbox the
//! page writes (acked) is deleted. Where IndexedDB fails (or the loader did not hand over
//! `handoff.idb`, which runs the transactions), contents stay inline (as before:
//! localStorage, or memory when it is full).

use std::cell::RefCell;

use js_sys::{Array, Function};
use livechat_protocol::OutgoingBody;
use wasm_bindgen::{JsCast, JsValue};

use super::{dispatch, Input};
use crate::core::state::{OutboxItem, OutboxRequest, StoredState};

/// Contents longer than this (base64 characters) go to IndexedDB.
pub const INLINE_MAX: usize = 64 * 1024;
/// How a stored state refers to a blob.
const REF: &str = "idb:";

/// The attachment content of an outbox item, if it has one.
fn content(item: &mut OutboxItem) -> Option<&mut String> {
    match &mut item.request {
        OutboxRequest::Message { body: OutgoingBody::Basic { attachment: Some(a), .. }, .. } => Some(&mut a.content),
        _ => None,
    }
}

fn key_of(widget_id: &str, item: &OutboxItem) -> String {
    let mut key = String::from(widget_id);
    key.push('/');
    key.push_str(&item.id);
    key
}

/// The blobs this page knows to be durable, and those being written.
#[derive(Default)]
pub struct Blobs {
    stored: Vec<String>,
    pending: Vec<String>,
    /// IndexedDB failed in this page: contents stay inline.
    broken: bool,
}

impl Blobs {
    /// Replaces the large contents of `state`'s outbox by references. Returns false when a
    /// blob is still being written (started here if new): the caller keeps the state and
    /// saves again on [`Input::BlobSaved`].
    pub fn externalize(&mut self, state: &mut StoredState) -> bool {
        let mut ready = true;
        for item in &mut state.outbox {
            let key = key_of(&state.widget_id, item);
            let Some(content) = content(item).filter(|c| c.len() > INLINE_MAX) else { continue };
            if self.broken {
                continue;
            }
            if self.stored.contains(&key) {
                *content = String::from(REF) + &key;
            } else {
                ready = false;
                if !self.pending.contains(&key) {
                    self.pending.push(key.clone());
                    put(key, content.clone());
                }
            }
        }
        ready
    }

    /// A write started by [`Blobs::externalize`] committed (`true`) or failed.
    pub fn handle_saved(&mut self, key: String, ok: bool) {
        self.pending.retain(|k| *k != key);
        if ok {
            self.stored.push(key);
        } else {
            self.broken = true;
        }
    }

    /// After `state` was written: deletes the blobs its outbox no longer refers to (acked).
    pub fn collect(&mut self, state: &StoredState) {
        let live: Vec<String> = state.outbox.iter().map(|i| key_of(&state.widget_id, i)).collect();
        let gone: Vec<String> = self.stored.iter().filter(|k| !live.contains(k)).cloned().collect();
        self.stored.retain(|k| live.contains(k));
        if !gone.is_empty() {
            run(Op::Delete(gone), Box::new(|_, _| {}));
        }
    }

    /// `logout`/`clear`: deletes every blob this page knows of.
    pub fn remove_all(&mut self, widget_id: &str) {
        self.collect(&StoredState::fresh(widget_id));
    }

    /// Blobs read back from IndexedDB (or another tab's reference) are durable.
    pub fn handle_resolved(&mut self, keys: Vec<String>) {
        for key in keys {
            if !self.stored.contains(&key) {
                self.stored.push(key);
            }
        }
    }
}

/// Puts the contents back into `state` from IndexedDB (another tab or an earlier page wrote
/// each one before the text that refers to it); then `done(state, keys read back)`. A blob
/// that cannot be read leaves its reference (the server refuses it as an attachment: the
/// item fails visibly, never silently). At once when `state` refers to none.
pub fn resolve(mut state: StoredState, done: Box<dyn FnOnce(StoredState, Vec<String>)>) {
    let wanted: Vec<String> = state
        .outbox
        .iter_mut()
        .filter_map(|i| content(i).and_then(|c| c.strip_prefix(REF)).map(String::from))
        .collect();
    if wanted.is_empty() {
        return done(state, wanted);
    }
    run(
        Op::Get(wanted),
        Box::new(move |_, values| {
            let mut back = Vec::new();
            for item in &mut state.outbox {
                let Some(content) = content(item) else { continue };
                let Some((k, Some(v))) = values.iter().find(|(k, _)| Some(k.as_str()) == content.strip_prefix(REF)) else {
                    continue;
                };
                back.push(k.clone());
                *content = v.clone();
            }
            done(state, back);
        }),
    );
}

/// What one IndexedDB transaction does.
enum Op {
    Put(String, String),
    Get(Vec<String>),
    Delete(Vec<String>),
}

/// The answer to an [`Op`]: committed or not, and for `Get` each key's value.
type Then = Box<dyn FnOnce(bool, Vec<(String, Option<String>)>)>;

thread_local! {
    /// The loader's `handoff.idb(kind, keys, value)` (`www/widget/livechat.js`): one
    /// IndexedDB transaction, a promise of the values read. In JavaScript because web-sys'
    /// IndexedDB bindings cost ~2.8 KB gzip of wasm for the same (measured).
    static IDB: RefCell<Option<Function>> = const { RefCell::new(None) };
}

/// Takes the loader's IndexedDB function (none: attachments stay inline).
pub fn install(handoff: &JsValue) {
    let f = super::bridge::get(handoff, "idb").dyn_into::<Function>().ok();
    IDB.with(|i| *i.borrow_mut() = f);
}

/// Runs `op` in one IndexedDB transaction; `then` once it committed or failed.
fn run(op: Op, then: Then) {
    let (kind, keys, value) = match op {
        Op::Get(keys) => (0, keys, String::new()),
        Op::Put(key, value) => (1, vec![key], value),
        Op::Delete(keys) => (2, keys, String::new()),
    };
    let list = Array::new();
    for k in &keys {
        list.push(&JsValue::from_str(k));
    }
    let promise = IDB.with(|i| i.borrow().as_ref().map(|f| f.call3(&JsValue::NULL, &kind.into(), &list, &value.into())));
    let Some(Ok(promise)) = promise else { return then(false, Vec::new()) };
    super::http::settle(promise.unchecked_ref(), move |values| {
        if !Array::is_array(&values) {
            return then(false, Vec::new()); // rejected: the reason, not the values
        }
        let values = Array::from(&values);
        let read = keys.into_iter().enumerate().map(|(n, k)| (k, values.get(n as u32).as_string())).collect();
        then(true, read)
    });
}

/// Writes one blob; [`Input::BlobSaved`] says when it committed.
fn put(key: String, value: String) {
    let k = key.clone();
    run(Op::Put(key, value), Box::new(move |ok, _| dispatch(Input::BlobSaved(k, ok))));
}
