//! Small DOM helpers shared by the view's parts, and the icons (static markup of our own,
//! never user text).

use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{Document, Element};

/// Creates `<tag class="class">`.
pub(super) fn el(doc: &Document, tag: &str, class: &str) -> Option<Element> {
    let e = doc.create_element(tag).ok()?;
    e.set_class_name(class);
    Some(e)
}

pub(super) fn set_hidden(el: &Element, hidden: bool) {
    if el.has_attribute("hidden") != hidden {
        let _ = if hidden { el.set_attribute("hidden", "") } else { el.remove_attribute("hidden") };
    }
}

/// Sets an attribute only when it changes: rewriting the same value still invalidates
/// style, and every event renders.
pub(super) fn set_attr(el: &Element, name: &str, value: &str) {
    if el.get_attribute(name).as_deref() != Some(value) {
        let _ = el.set_attribute(name, value);
    }
}

/// Sets text content only when it changes.
pub(super) fn set_text(el: &Element, value: Option<&str>) {
    if el.text_content().as_deref().unwrap_or("") != value.unwrap_or("") {
        el.set_text_content(value);
    }
}

/// The value of `attr` on the element the event happened in or under that matches
/// `selector` (`[attr]`): a row's retry button, a thread's button.
pub(super) fn closest_attr(e: &web_sys::Event, selector: &str, attr: &str) -> Option<String> {
    e.target()
        .and_then(|t| t.dyn_into::<Element>().ok())
        .and_then(|t| t.closest(selector).ok().flatten())
        .and_then(|b| b.get_attribute(attr))
}

pub(super) fn on(target: &web_sys::EventTarget, event: &str, handler: impl Fn(web_sys::Event) + 'static) {
    let closure = Closure::<dyn Fn(web_sys::Event)>::new(handler);
    let _ = target.add_event_listener_with_callback(event, closure.as_ref().unchecked_ref());
    closure.forget(); // lives as long as the widget's DOM
}

pub(super) const ICON_CHAT: &str = r#"<svg aria-hidden="true" viewBox="0 0 24 24" width="28" height="28"><path fill="currentColor" d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z"/></svg>"#;
pub(super) const ICON_CLOSE: &str = r#"<svg aria-hidden="true" viewBox="0 0 24 24" width="20" height="20"><path fill="currentColor" d="M6.4 5 12 10.6 17.6 5 19 6.4 13.4 12l5.6 5.6-1.4 1.4-5.6-5.6L6.4 19 5 17.6 10.6 12 5 6.4z"/></svg>"#;
pub(super) const ICON_ATTACH: &str = r#"<svg aria-hidden="true" viewBox="0 0 24 24" width="20" height="20"><path fill="currentColor" d="M16.5 6v11.5a4 4 0 0 1-8 0V5a2.5 2.5 0 0 1 5 0v10.5a1 1 0 0 1-2 0V6H10v9.5a2.5 2.5 0 0 0 5 0V5a4 4 0 0 0-8 0v12.5a5.5 5.5 0 0 0 11 0V6z"/></svg>"#;
pub(super) const ICON_BACK: &str = r#"<svg aria-hidden="true" viewBox="0 0 24 24" width="20" height="20"><path fill="currentColor" d="M20 11H7.8l5.6-5.6L12 4l-8 8 8 8 1.4-1.4L7.8 13H20z"/></svg>"#;
pub(super) const ICON_SEND: &str = r#"<svg aria-hidden="true" viewBox="0 0 24 24" width="20" height="20"><path fill="currentColor" d="M3 20.5 21 12 3 3.5v6.6L15 12 3 13.9z"/></svg>"#;
