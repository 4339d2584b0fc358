//! One socket per site across tabs: the tab holding the widget's Web Lock owns the
//! websocket; the others follow through storage. The lock is released when the tab
//! closes (the browser does it), on `pagehide`, or when the widget id changes.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::{dispatch, Input};

#[wasm_bindgen]
extern "C" {
    /// `navigator.locks`.
    type LockManager;
    #[wasm_bindgen(method, catch)]
    fn request(this: &LockManager, name: &str, callback: &Function) -> Result<Promise, JsValue>;
}

#[derive(Default)]
struct Claim {
    /// The widget whose lock this tab wants.
    wanted: Option<String>,
    /// Resolving it releases the held lock.
    release: Option<Function>,
}

/// This tab's claim on a widget's socket lock.
pub struct SocketLock {
    locks: LockManager,
    claim: Rc<RefCell<Claim>>,
}

impl SocketLock {
    /// `None` where the browser has no Web Locks (every tab then keeps its own socket).
    pub fn new() -> Option<Self> {
        let navigator = web_sys::window()?.navigator();
        let locks = Reflect::get(&navigator, &"locks".into()).ok().filter(|l| l.is_object())?;
        Some(Self { locks: locks.unchecked_into(), claim: Default::default() })
    }

    /// Queues for `widget_id`'s lock unless already queued or holding it; when granted,
    /// the driver gets [`Input::Leader`].
    pub fn claim(&mut self, widget_id: &str) {
        if self.claim.borrow().wanted.as_deref() == Some(widget_id) {
            return;
        }
        self.claim.borrow_mut().wanted = Some(widget_id.to_string());
        let id = widget_id.to_string();
        let claim = self.claim.clone();
        let granted = Closure::once_into_js(move |_lock: JsValue| -> Promise {
            let mut state = claim.borrow_mut();
            if state.wanted.as_deref() != Some(id.as_str()) || state.release.is_some() {
                return Promise::resolve(&JsValue::UNDEFINED); // no longer wanted: give it back
            }
            let mut resolve = None;
            let held = Promise::new(&mut |r, _| resolve = Some(r));
            state.release = resolve;
            drop(state);
            dispatch(Input::Leader(id));
            held
        });
        let _ = self.locks.request(&format!("livechat:{widget_id}"), granted.unchecked_ref());
    }

    /// Gives the lock up, or stops wanting it (a grant that comes later is handed back).
    pub fn release(&mut self) {
        let mut state = self.claim.borrow_mut();
        state.wanted = None;
        if let Some(resolve) = state.release.take() {
            let _ = resolve.call0(&JsValue::NULL);
        }
    }
}
