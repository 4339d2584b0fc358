//! `GET /v1/widgets/{id}/config` and the language tables (`i18n/<tag>.txt`) with the
//! browser's fetch.
//!
//! Promise callbacks instead of `async`/`JsFuture`: the widget's two kinds of request do not
//! need an executor (wasm-bindgen-futures' task queue) in the wasm. Each stage
//! hands one once-callable function to both `then` handlers, so nothing is left behind.

use js_sys::{Promise, JSON};
use livechat_protocol::WidgetConfig;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::Response;

use super::bridge::from_js;
use super::{dispatch, Input};
use crate::core::ConfigError;
use crate::wire;

fn unavailable(what: &str) -> ConfigError {
    ConfigError::Unavailable(what.into())
}

fn done(widget_id: String, attempt: u32, result: Result<WidgetConfig, ConfigError>) {
    dispatch(Input::Config(widget_id, attempt, result));
}

#[wasm_bindgen]
extern "C" {
    /// A promise, seen only for `then` with plain JS functions.
    #[wasm_bindgen(js_name = Promise)]
    type Thenable;
    /// `promise.then(onFulfilled, onRejected)`.
    #[wasm_bindgen(method, js_name = then)]
    fn then_fns(this: &Thenable, on_fulfilled: &JsValue, on_rejected: &JsValue);
}

/// Calls `then(value)` with the promise's value, or with `undefined`-or-the-reason when it
/// rejects (the callers tell the two apart by the value's type).
pub(super) fn settle(promise: &Promise, then: impl FnOnce(JsValue) + 'static) {
    let f = Closure::once_into_js(then);
    promise.unchecked_ref::<Thenable>().then_fns(&f, &f);
}

/// Fetches a widget's configuration from the server at `base`; the answer arrives as
/// [`Input::Config`], with the attempt's number. `prefetched` is the loader's request for it (started while the wasm
/// downloaded); when it failed, the configuration is fetched again. Each attempt has its own
/// URL (`?attempt=n`): Chromium holds a request for a URL that is still pending (HTTP cache
/// lock) instead of sending it. How long an attempt may take is the core's business.
pub fn fetch_config(base: &str, widget_id: String, attempt: u32, prefetched: Option<Promise>) {
    if let Some(early) = prefetched {
        let base = base.to_string();
        return settle(&early, move |response| {
            if response.is_instance_of::<Response>() {
                read_config(widget_id, attempt, response);
            } else {
                fetch_config(&base, widget_id, attempt, None);
            }
        });
    }
    let Some(window) = web_sys::window() else { return done(widget_id, attempt, Err(unavailable("no window"))) };
    let url = format!("{base}/v1/widgets/{widget_id}/config?attempt={attempt}");
    settle(&window.fetch_with_str(&url), move |response| read_config(widget_id, attempt, response));
}

/// Reads a configuration response (or the reason its fetch failed).
fn read_config(widget_id: String, attempt: u32, response: JsValue) {
    // A rejected fetch hands over an error, not a Response.
    let Ok(response) = response.dyn_into::<Response>() else {
        return done(widget_id, attempt, Err(unavailable("network error")));
    };
    match response.status() {
        200 => {}
        404 => return done(widget_id, attempt, Err(ConfigError::UnknownWidget)),
        403 => return done(widget_id, attempt, Err(ConfigError::OriginNotAllowed)),
        status => return done(widget_id, attempt, Err(ConfigError::Unavailable(format!("HTTP {status}")))),
    }
    let Ok(text) = response.text() else { return done(widget_id, attempt, Err(unavailable("unreadable body"))) };
    settle(&text, move |text| {
        // A rejected body hands over an error, not a string.
        let Some(text) = text.as_string() else { return done(widget_id, attempt, Err(unavailable("unreadable body"))) };
        let result = match JSON::parse(&text) {
            Err(_) => Err(unavailable("invalid JSON")),
            Ok(value) => from_js(&value)
                .as_ref()
                .and_then(wire::widget_config)
                .ok_or_else(|| unavailable("unexpected configuration format")),
        };
        done(widget_id, attempt, result);
    });
}

/// Fetches the language table of `lang` from `{assets}i18n/{lang}.txt`; the text arrives as
/// [`Input::Texts`] (`None` when it could not be loaded). How long the view waits for it is
/// the core's business (`core::texts`).
pub fn fetch_texts(assets: &str, lang: &'static str) {
    let answer = move |text: Option<String>| dispatch(Input::Texts(lang, text));
    let Some(window) = web_sys::window() else { return answer(None) };
    let url = format!("{assets}i18n/{lang}.txt");
    settle(&window.fetch_with_str(&url), move |response| {
        let Some(body) = response.dyn_into::<Response>().ok().filter(Response::ok).and_then(|r| r.text().ok()) else {
            return answer(None);
        };
        settle(&body, move |text| answer(text.as_string()));
    });
}
