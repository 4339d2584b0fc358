//! `GET /v1/widgets/{id}/config` with the browser's fetch.

use js_sys::JSON;
use livechat_protocol::WidgetConfig;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::Response;

use super::bridge::from_js;
use crate::core::ConfigError;
use crate::wire;

/// Fetches a widget's configuration from the server at `base`.
pub async fn fetch_config(base: &str, widget_id: &str) -> Result<WidgetConfig, ConfigError> {
    let unavailable = |what: &str| ConfigError::Unavailable(what.into());
    let window = web_sys::window().ok_or_else(|| unavailable("no window"))?;
    let url = format!("{base}/v1/widgets/{widget_id}/config");
    let response = JsFuture::from(window.fetch_with_str(&url)).await.map_err(|_| unavailable("network error"))?;
    let response: Response = response.dyn_into().map_err(|_| unavailable("not a response"))?;
    match response.status() {
        200 => {}
        404 => return Err(ConfigError::UnknownWidget),
        403 => return Err(ConfigError::OriginNotAllowed),
        status => return Err(ConfigError::Unavailable(format!("HTTP {status}"))),
    }
    let text = JsFuture::from(response.text().map_err(|_| unavailable("unreadable body"))?)
        .await
        .map_err(|_| unavailable("unreadable body"))?;
    let value = JSON::parse(&text.as_string().unwrap_or_default()).map_err(|_| unavailable("invalid JSON"))?;
    from_js(&value).as_ref().and_then(wire::widget_config).ok_or_else(|| unavailable("unexpected configuration format"))
}
