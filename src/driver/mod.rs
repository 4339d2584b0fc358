//! The browser driver: the only code that touches web APIs.
//!
//! Every browser event becomes an [`Input`] and goes through [`dispatch`], which feeds the
//! core and then runs every effect the core produced. A `liveChat` call made from inside a
//! callback (or any event fired while effects run) is queued and handled after the current
//! input, so the core is never re-entered.

mod blobs;
mod bridge;
pub mod frames;
mod http;
mod lock;
mod socket;
mod storage;

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;

use js_sys::{Array, Function, Reflect, JSON};
use livechat_protocol::{ServerFrame, WidgetConfig};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::core::vec_map::VecMap;
use crate::core::state::StoredState;
use crate::core::{self as widget_core, CallId, ConfigError, Effect, UiAction, Widget};
use crate::view::View;
use socket::Socket;
use storage::Store;

/// Something that happened in the browser.
pub enum Input {
    /// `liveChat(command, arg, callback)`.
    Call(JsValue, JsValue, JsValue),
    /// The socket of this generation opened.
    SocketOpen(u32),
    /// A text frame on the socket of this generation.
    SocketMessage(u32, String),
    /// The socket of this generation closed or failed.
    SocketClosed(u32),
    /// The core's timer fired.
    Timer,
    /// The configuration request of this attempt finished.
    Config(String, u32, Result<WidgetConfig, ConfigError>),
    /// Another tab wrote (or removed) our storage entry.
    Storage(Option<String>),
    /// The visitor used the widget.
    Ui(UiAction),
    /// Network back online, tab visible again, or page restored from the back/forward cache.
    Wake,
    /// The page is hidden for navigation (`pagehide`).
    Suspend,
    /// Write the state that is waiting (scheduled after a `Persist`, or the tab is hidden).
    Save,
    /// This tab now holds the socket lock of this widget.
    Leader(String),
    /// A language table arrived (`None`: it could not be loaded).
    Texts(&'static str, Option<String>),
    /// An attachment blob was written to IndexedDB (`true`) or could not be.
    BlobSaved(String, bool),
    /// A stored state whose attachment blobs were read back: for `LoadState` (`None`) or
    /// for the storage event of this number; with the blobs it holds.
    Resolved(Option<u32>, String, Option<Box<StoredState>>, Vec<String>),
}

struct Driver {
    core: Widget,
    base: String,
    callbacks: VecMap<CallId, Function>,
    next_call: CallId,
    store: Store,
    socket: Option<Socket>,
    generation: u32,
    timer: Option<i32>,
    timer_fn: Closure<dyn FnMut()>,
    /// State waiting to be written, and whether a write is scheduled (see `Effect::Persist`).
    unsaved: Option<Box<StoredState>>,
    /// Large attachments of the outbox, kept in IndexedDB (`blobs.rs`).
    blobs: blobs::Blobs,
    /// Storage events so far: one whose blobs arrive after a later event is dropped.
    storage_events: u32,
    save_scheduled: bool,
    /// The cross-tab socket lock (`None` where Web Locks are missing).
    lock: Option<lock::SocketLock>,
    /// The loader's configuration request, used by the first `FetchConfig` for its widget.
    prefetched: Option<(String, js_sys::Promise)>,
    /// What the loader hands over (`www/widget/livechat.js`): the widget's stylesheet, and the
    /// launcher it drew, for the first mount to adopt.
    handoff: Option<JsValue>,
    /// The widget's stylesheet (`widget.css`, carried by the loader).
    css: Option<web_sys::CssStyleSheet>,
    /// The launcher snapshot waiting to be written, and the last one written.
    launcher_unsaved: Option<String>,
    launcher_saved: String,
    /// Where the widget's files are (the loader's directory, ending in `/`).
    assets: String,
    view: Option<View>,
}

thread_local! {
    static DRIVER: RefCell<Option<Driver>> = const { RefCell::new(None) };
    static INPUTS: RefCell<VecDeque<Input>> = const { RefCell::new(VecDeque::new()) };
    static BUSY: Cell<bool> = const { Cell::new(false) };
}

fn now() -> u64 {
    js_sys::Date::now() as u64
}

/// Starts the widget: defines `window.liveChat` and replays the snippet's queue.
/// `base` is the server origin the widget script was loaded from; `config` is the loader's
/// request for `widget_id`'s configuration (a `Promise<Response>`), started while the
/// wasm downloaded; `assets` is the URL of the loader's directory (default `{base}/widget/`),
/// where the language tables are.
#[wasm_bindgen]
pub fn boot(base: String, widget_id: Option<String>, config: JsValue, assets: Option<String>, handoff: JsValue) {
    let Some(window) = web_sys::window() else { return };
    let started = DRIVER.with(|d| d.borrow().is_some());
    if started {
        return; // loaded twice: the first copy keeps running
    }
    blobs::install(&handoff);
    let base = base.trim_end_matches('/').to_string();
    let assets = match assets {
        Some(a) if a.ends_with('/') => a,
        Some(a) => a + "/",
        None => format!("{base}/widget/"),
    };
    let driver = Driver {
        core: Widget::new(seed(), browser_languages()),
        base,
        assets,
        callbacks: VecMap::default(),
        next_call: 0,
        store: Store::default(),
        socket: None,
        generation: 0,
        timer: None,
        timer_fn: Closure::new(|| dispatch(Input::Timer)),
        unsaved: None,
        blobs: blobs::Blobs::default(),
        storage_events: 0,
        save_scheduled: false,
        lock: lock::SocketLock::new(),
        prefetched: widget_id.zip(config.dyn_into::<js_sys::Promise>().ok()),
        css: Reflect::get(&handoff, &"sheets".into())
            .ok()
            .filter(|s| s.is_truthy())
            .and_then(|s| Reflect::get(&s, &0.into()).ok())
            .and_then(|s| s.dyn_into().ok()),
        handoff: Some(handoff).filter(JsValue::is_object),
        launcher_unsaved: None,
        launcher_saved: String::new(),
        view: None,
    };
    let mut driver = driver;
    if driver.lock.is_some() {
        // Tabs elect one socket owner; until this tab holds the lock, it follows.
        driver.core.handle_role(widget_core::Role::Follower, now());
    }
    DRIVER.with(|d| *d.borrow_mut() = Some(driver));

    let queued = Reflect::get(&window, &"liveChat".into())
        .ok()
        .map(|stub| bridge::get(&stub, "q"))
        .filter(|q| Array::is_array(q))
        .map(|q| Array::from(&q));
    let entry = Closure::<dyn Fn(JsValue, JsValue, JsValue)>::new(|c, a, cb| dispatch(Input::Call(c, a, cb)));
    let entry: Function = entry.into_js_value().unchecked_into();
    let _ = Reflect::set(&entry, &"loaded".into(), &JsValue::TRUE);
    let _ = Reflect::set(&window, &"liveChat".into(), &entry);
    if let Some(queued) = queued {
        for args in queued.iter() {
            dispatch(Input::Call(bridge::get(&args, "0"), bridge::get(&args, "1"), bridge::get(&args, "2")));
        }
    }
    listen_to_page(&window);
}

fn listen_to_page(window: &web_sys::Window) {
    let on_storage = Closure::<dyn Fn(web_sys::StorageEvent)>::new(|e: web_sys::StorageEvent| {
        let ours = DRIVER.with(|d| {
            d.borrow().as_ref().and_then(|d| d.core.widget_id().map(widget_core::state::storage_key))
        });
        if ours.is_some() && e.key() == ours {
            dispatch(Input::Storage(e.new_value()));
        }
    });
    let _ = window.add_event_listener_with_callback("storage", on_storage.into_js_value().unchecked_ref());
    let wake: Function = Closure::<dyn Fn()>::new(|| {
        let visible = web_sys::window()
            .and_then(|w| w.document())
            .map_or(true, |d| d.visibility_state() == web_sys::VisibilityState::Visible);
        // A hidden tab may be discarded without a pagehide: write what is waiting now.
        dispatch(if visible { Input::Wake } else { Input::Save });
    })
    .into_js_value()
    .unchecked_into();
    let _ = window.add_event_listener_with_callback("online", &wake);
    let on_pagehide = Closure::<dyn Fn()>::new(|| dispatch(Input::Suspend));
    let _ = window.add_event_listener_with_callback("pagehide", on_pagehide.into_js_value().unchecked_ref());
    let _ = window.add_event_listener_with_callback("pageshow", &wake);
    if let Some(doc) = window.document() {
        let _ = doc.add_event_listener_with_callback("visibilitychange", &wake);
    }
}

/// Feeds an input to the core and runs the resulting effects; queues when already busy.
pub fn dispatch(input: Input) {
    INPUTS.with(|q| q.borrow_mut().push_back(input));
    if BUSY.with(|b| b.replace(true)) {
        return;
    }
    while let Some(input) = INPUTS.with(|q| q.borrow_mut().pop_front()) {
        DRIVER.with(|d| {
            if let Some(driver) = d.borrow_mut().as_mut() {
                driver.handle(input);
            }
        });
    }
    BUSY.with(|b| b.set(false));
}

impl Driver {
    fn handle(&mut self, input: Input) {
        let t = now();
        match input {
            Input::Call(command, arg, callback) => {
                self.next_call = self.next_call.wrapping_add(1);
                let call = self.next_call;
                if let Some(f) = bridge::callback_of(&callback) {
                    self.callbacks.insert(call, f);
                }
                if let Some(window) = web_sys::window() {
                    self.core.handle_network(window.navigator().on_line());
                }
                match bridge::parse_call(&command, &arg) {
                    Ok(cmd) => self.core.handle_command(call, cmd, t),
                    Err(e) => self.reply(call, Err(e)),
                }
            }
            Input::SocketOpen(g) if g == self.generation => self.core.handle_socket_open(t),
            Input::SocketMessage(g, text) if g == self.generation => match parse_frame(&text) {
                Some(frame) => self.core.handle_frame(frame, t),
                None => web_sys::console::warn_1(&"liveChat: ignored a frame the widget does not understand".into()),
            },
            Input::SocketClosed(g) if g == self.generation => {
                self.socket = None;
                self.core.handle_socket_closed(t);
            }
            Input::SocketOpen(_) | Input::SocketMessage(..) | Input::SocketClosed(_) => {}
            Input::Timer => {
                self.timer = None;
                self.core.handle_timeout(t);
            }
            Input::Config(widget_id, attempt, result) => self.core.handle_config(&widget_id, attempt, result, t),
            Input::Storage(text) => {
                self.storage_events = self.storage_events.wrapping_add(1);
                let n = Some(self.storage_events);
                self.resolve(n, String::new(), text.as_deref().and_then(storage::decode));
            }
            Input::Resolved(event, widget_id, state, keys) => {
                self.blobs.handle_resolved(keys);
                match event {
                    None => self.core.handle_stored_state(&widget_id, state.map(|s| *s), t),
                    Some(n) if n == self.storage_events => self.core.handle_storage_changed(state.map(|s| *s), t),
                    Some(_) => {} // a later write of the other tab came meanwhile
                }
            }
            Input::BlobSaved(key, ok) => {
                self.blobs.handle_saved(key, ok);
                self.save();
            }
            Input::Ui(action) => self.core.handle_ui(action, t),
            Input::Wake => {
                if let (Some(lock), Some(id)) = (self.lock.as_mut(), self.core.widget_id()) {
                    lock.claim(id); // back from the back/forward cache: queue for the lock again
                }
                self.core.handle_wake(t)
            }
            Input::Suspend => {
                if let Some(lock) = self.lock.as_mut() {
                    // A held lock keeps the page out of the back/forward cache; another tab
                    // takes the socket over meanwhile.
                    lock.release();
                    self.core.handle_role(widget_core::Role::Follower, t);
                }
                self.core.handle_suspend(t);
                self.run_effects();
                self.save(); // the page may be gone before a scheduled write runs
            }
            Input::Leader(widget_id) => {
                if self.core.widget_id() == Some(widget_id.as_str()) {
                    self.core.handle_role(widget_core::Role::Leader, t);
                }
            }
            Input::Save => {
                self.save_scheduled = false;
                self.save();
            }
            Input::Texts(lang, text) => {
                if text.is_some_and(|text| crate::i18n::install(lang, text)) {
                    self.core.handle_language_ready(lang, t);
                } else {
                    web_sys::console::warn_2(&"liveChat: could not load the texts of".into(), &lang.into());
                    self.core.handle_language_failed(lang, t);
                }
            }
        }
        self.run_effects();
    }

    fn run_effects(&mut self) {
        while let Some(effect) = self.core.poll_effect() {
            match effect {
                Effect::Reply { call, result } => self.reply(call, result),
                Effect::LoadState { widget_id } => {
                    self.save();
                    let stored = self.store.load(&widget_id);
                    self.resolve(None, widget_id, stored);
                }
                Effect::Persist(state) => self.save_soon(state),
                Effect::ClearStorage { widget_id } => {
                    self.unsaved = None; // a write scheduled before would bring the state back
                    self.launcher_unsaved = None;
                    self.launcher_saved.clear();
                    self.blobs.remove_all(&widget_id);
                    self.store.remove(&widget_id);
                }
                Effect::FetchConfig { widget_id, attempt } => {
                    let prefetched = self.prefetched.take().filter(|(id, _)| *id == widget_id).map(|(_, p)| p);
                    http::fetch_config(&self.base, widget_id, attempt, prefetched);
                }
                Effect::OpenSocket { path } => {
                    self.generation = self.generation.wrapping_add(1);
                    let url = ws_url(&self.base, &path);
                    self.socket = None;
                    self.socket = Socket::open(&url, self.generation);
                }
                Effect::ClaimSocket { widget_id } => {
                    if let Some(lock) = self.lock.as_mut() {
                        lock.release();
                        lock.claim(&widget_id);
                    }
                }
                Effect::CloseSocket => {
                    self.generation = self.generation.wrapping_add(1);
                    self.socket = None;
                }
                Effect::SendFrame(frame) => {
                    if let Some(socket) = &self.socket {
                        socket.send(&crate::wire::write_client_frame(&frame));
                    }
                }
                Effect::LoadTexts { language } if crate::i18n::ready(language) => {
                    self.core.handle_language_ready(language, now());
                }
                Effect::LoadTexts { language } => http::fetch_texts(&self.assets, language),
                Effect::Render => self.render(),
                Effect::Emit(event) => emit(&event),
            }
        }
        self.arm_timer();
    }

    /// Hands a stored state (of `LoadState` when `event` is `None`, else of that storage
    /// event) to the core as [`Input::Resolved`], once its large attachments are read back
    /// from IndexedDB (at once, in this dispatch, when it has none).
    fn resolve(&self, event: Option<u32>, widget_id: String, stored: Option<StoredState>) {
        let Some(state) = stored else { return dispatch(Input::Resolved(event, widget_id, None, Vec::new())) };
        let then = move |s, keys| dispatch(Input::Resolved(event, widget_id, Some(Box::new(s)), keys));
        blobs::resolve(state, Box::new(then));
    }

    /// Writes the state after the current task rather than inside it, so serializing it
    /// is not on the path from a frame to the page's callback or to the screen; several
    /// changes in a burst are written once. Losing a write is safe: the outbox is resent
    /// with the same ids (stored once) and missed events are replayed after `last_seq`,
    /// and `pagehide` and a tab being hidden write at once.
    fn save_soon(&mut self, state: Box<StoredState>) {
        self.unsaved = Some(state);
        self.schedule_save();
    }

    fn schedule_save(&mut self) {
        if self.save_scheduled {
            return;
        }
        let Some(window) = web_sys::window() else { return self.save() };
        let save = Closure::once_into_js(|| dispatch(Input::Save));
        self.save_scheduled =
            window.set_timeout_with_callback_and_timeout_and_arguments_0(save.unchecked_ref(), 0).is_ok();
        if !self.save_scheduled {
            self.save();
        }
    }

    fn save(&mut self) {
        if let Some((launcher, id)) = self.launcher_unsaved.take().zip(self.core.widget_id()) {
            self.store.save_launcher(id, &launcher);
        }
        if let Some(mut state) = self.unsaved.take() {
            if !self.blobs.externalize(&mut state) {
                // A large attachment is being written to IndexedDB: the text that refers
                // to it is written once it is durable (`Input::BlobSaved`).
                self.unsaved = Some(state);
                return;
            }
            self.store.save(&state);
            self.blobs.collect(&state);
            if self.store.failed() && self.lock.take().is_some() {
                // Followers learn everything through storage; without it every tab keeps
                // its own socket (idempotent sends keep that safe).
                self.core.handle_role(widget_core::Role::Solo, now());
            }
        }
    }

    fn reply(&mut self, call: CallId, result: Result<widget_core::Reply, widget_core::ApiError>) {
        let Some(callback) = self.callbacks.remove(&call) else {
            if let Err(e) = result {
                web_sys::console::warn_2(&"liveChat:".into(), &bridge::error_js(&e));
            }
            return;
        };
        match result {
            Ok(r) => bridge::invoke(&callback, JsValue::NULL, bridge::reply_js(&r)),
            Err(e) => bridge::invoke(&callback, bridge::error_js(&e), JsValue::UNDEFINED),
        }
    }

    fn render(&mut self) {
        if self.core.widget_id().is_none() {
            if let Some(view) = self.view.take() {
                view.remove();
            }
            if let Some(handoff) = self.handoff.take() {
                View::discard_drawn(&handoff);
            }
            return;
        }
        if self.core.config().is_none() {
            return;
        }
        if self.view.is_none() {
            // The first mount waits (the core bounds the wait) for the visitor's language, so
            // that a widget in another language never flashes English first.
            if self.core.language_pending() {
                return;
            }
            self.view = View::mount(&self.base, self.css.as_ref(), self.handoff.take().as_ref(), ui);
        }
        if let Some(view) = self.view.as_mut() {
            view.render(&self.core);
            let launcher = view.launcher_snapshot();
            if launcher != self.launcher_saved {
                self.launcher_saved = launcher.to_string();
                self.launcher_unsaved = Some(self.launcher_saved.clone());
                self.schedule_save();
            }
        }
    }

    fn arm_timer(&mut self) {
        let Some(window) = web_sys::window() else { return };
        if let Some(handle) = self.timer.take() {
            window.clear_timeout_with_handle(handle);
        }
        if let Some(deadline) = self.core.poll_timeout() {
            let delay = deadline.at.saturating_sub(now()).min(i32::MAX as u64) as i32;
            self.timer = window
                .set_timeout_with_callback_and_timeout_and_arguments_0(self.timer_fn.as_ref().unchecked_ref(), delay)
                .ok();
        }
    }
}

fn parse_frame(text: &str) -> Option<ServerFrame> {
    frames::decode(&JSON::parse(text).ok()?)
}

fn ws_url(base: &str, path: &str) -> String {
    let ws_base = if let Some(rest) = base.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if let Some(rest) = base.strip_prefix("http://") {
        format!("ws://{rest}")
    } else {
        base.to_string()
    };
    format!("{ws_base}{path}")
}

fn emit(event: &widget_core::WidgetEvent) {
    let Some(window) = web_sys::window() else { return };
    let init = web_sys::CustomEventInit::new();
    if let widget_core::WidgetEvent::Fatal { code } = event {
        init.set_detail(&JsValue::from_str(code));
    }
    if let Ok(e) = web_sys::CustomEvent::new_with_event_init_dict(&format!("livechat:{}", event.name()), &init) {
        let _ = window.dispatch_event(&e);
    }
}

fn seed() -> u64 {
    let mut bytes = [0u8; 8];
    let filled = web_sys::window()
        .and_then(|w| w.crypto().ok())
        .map(|c| c.get_random_values_with_u8_array(&mut bytes).is_ok())
        .unwrap_or(false);
    if filled {
        u64::from_le_bytes(bytes)
    } else {
        (js_sys::Math::random() * u64::MAX as f64) as u64 ^ now()
    }
}

fn browser_languages() -> Vec<String> {
    web_sys::window()
        .map(|w| w.navigator().languages().iter().filter_map(|l| l.as_string()).collect())
        .unwrap_or_default()
}

/// Hands a UI action from the view to the core (the view's action sink).
fn ui(action: UiAction) {
    dispatch(Input::Ui(action));
}
