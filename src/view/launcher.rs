//! The launcher: the button that opens the window, its unread badge, the theme sheet of the
//! widget's root, and the snapshot the loader draws the launcher from on the next page. The
//! loader may have drawn the host, root, launcher and badge already (`www/widget/livechat.js`):
//! [`Launcher::mount`] then adopts them.

use std::fmt::Write as _;

use js_sys::{Array, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{CssStyleSheet, Document, Element, HtmlElement, ShadowRootInit, ShadowRootMode};

use super::dom::{el, set_attr, set_hidden, set_text, ICON_CHAT};
use crate::core::{UiState, Widget};
use crate::i18n::{html_lang, is_rtl, text, Key};

pub(super) struct Launcher {
    pub(super) button: HtmlElement,
    badge: Element,
    /// The theme's custom properties (`.lc{--lc-primary:…}`), a constructable stylesheet:
    /// no inline `style`, so a strict CSP (`style-src 'self'`) applies it.
    theme: Option<CssStyleSheet>,
    /// The declarations now in `theme`.
    theme_css: String,
    /// What the loader needs to draw the launcher as it is now (see [`Launcher::snapshot`]).
    snapshot: String,
}

/// The widget's host, its `.lc` root in the shadow root, and the launcher in it.
pub(super) struct Shell {
    pub(super) host: Element,
    pub(super) root: Element,
    pub(super) launcher: Launcher,
    /// Drawn by the loader: the host is on the page already.
    pub(super) adopted: bool,
}

impl Launcher {
    /// Adopts the host, root, launcher and badge the loader drew (`handoff`), or builds
    /// them as the loader would, with `css` (`widget.css`) and a theme sheet adopted by the
    /// shadow root. The host is not put on the page here.
    pub(super) fn mount(doc: &Document, css: Option<&CssStyleSheet>, handoff: Option<&JsValue>) -> Option<Shell> {
        let (host, root, button, badge, theme, adopted) = match handoff.and_then(adopt) {
            Some((host, root, button, badge, theme)) => (host, root, button, badge, theme, true),
            None => {
                // A custom element name: page rules such as `div { display: none }` do not match it.
                let host = doc.create_element("livechat-widget").ok()?;
                host.set_id("livechat-widget");
                let shadow = host.attach_shadow(&ShadowRootInit::new(ShadowRootMode::Open)).ok()?;
                let theme = CssStyleSheet::new().ok();
                let sheets = Array::new();
                for sheet in [css, theme.as_ref()].into_iter().flatten() {
                    sheets.push(sheet);
                }
                let _ = Reflect::set(&shadow, &"adoptedStyleSheets".into(), &sheets);
                let root = el(doc, "div", "lc")?;
                let button: HtmlElement = el(doc, "button", "launcher")?.dyn_into().ok()?;
                button.set_attribute("type", "button").ok()?;
                button.set_attribute("aria-controls", "lc-window").ok()?;
                button.set_inner_html(ICON_CHAT); // static markup of our own, no user text
                let badge = el(doc, "span", "badge")?;
                badge.set_attribute("aria-hidden", "true").ok()?;
                button.append_child(&badge).ok()?;
                root.append_child(&button).ok()?;
                shadow.append_child(&root).ok()?;
                (host, root, button, badge, theme, false)
            }
        };
        let launcher = Launcher { button, badge, theme, theme_css: String::new(), snapshot: String::new() };
        Some(Shell { host, root, launcher, adopted })
    }

    /// The theme's custom properties into the theme sheet, its side (`left`) and name
    /// (`data-theme`) onto `root`.
    pub(super) fn apply_theme(&mut self, root: &Element, core: &Widget) {
        let Some(config) = core.config() else { return };
        let theme = core.theme().and_then(|name| config.themes.get(name));
        let mut style = String::new();
        let mut var = |name: &str, value: Option<&String>| {
            if let Some(v) = value.filter(|v| is_safe_css_value(v)) {
                let _ = write!(style, "--lc-{name}:{v};");
            }
        };
        var("primary", theme.and_then(|t| t.primary.as_ref()).or(Some(&config.color)));
        var("on-primary", theme.and_then(|t| t.on_primary.as_ref()));
        var("bg", theme.and_then(|t| t.background.as_ref()));
        var("text", theme.and_then(|t| t.text.as_ref()));
        var("font", theme.and_then(|t| t.font.as_ref()));
        if style != self.theme_css {
            if let Some(sheet) = &self.theme {
                let _ = sheet.replace_sync(&format!(".lc{{{style}}}"));
            }
            self.theme_css = style;
        }
        let left = theme.and_then(|t| t.launcher_position.as_deref()) == Some("left");
        let _ = root.class_list().toggle_with_force("left", left);
        set_attr(root, "data-theme", core.theme().unwrap_or("default"));
    }

    /// The launcher's visibility, state, badge and accessible name, then its snapshot
    /// (after [`Launcher::apply_theme`], whose result on `root` it records).
    pub(super) fn render(&mut self, root: &Element, ui: &UiState, lang: &str) {
        let t = |k: Key| text(lang, k);
        set_hidden(&self.button, !ui.launcher);
        set_attr(&self.button, "aria-expanded", if ui.open { "true" } else { "false" });
        set_hidden(&self.badge, ui.unread == 0);
        set_text(&self.badge, Some(&ui.unread.min(99).to_string()));
        let label = if ui.open {
            t(Key::CloseChat).to_string()
        } else if ui.unread > 0 {
            format!("{} ({}: {})", t(Key::OpenChat), t(Key::UnreadMessages), ui.unread)
        } else {
            t(Key::OpenChat).to_string()
        };
        set_attr(&self.button, "aria-label", &label);
        self.snapshot = self.state(root, lang, &label, ui.unread, ui.open, !ui.launcher);
    }

    /// The launcher as the last render left it, as JSON for `localStorage` (see
    /// `View::launcher_snapshot`).
    pub(super) fn snapshot(&self) -> &str {
        &self.snapshot
    }

    fn state(&self, root: &Element, lang: &str, label: &str, unread: u32, open: bool, hidden: bool) -> String {
        let badge = if unread == 0 { String::new() } else { unread.min(99).to_string() };
        let theme = root.get_attribute("data-theme").unwrap_or_default();
        let mut out = String::from("{\"v\":1");
        for (name, value) in [
            ("lang", html_lang(lang)),
            ("dir", if is_rtl(lang) { "rtl" } else { "ltr" }),
            ("theme", theme.as_str()),
            ("vars", self.theme_css.as_str()),
            ("label", label),
            ("badge", badge.as_str()),
        ] {
            out.push_str(",\"");
            out.push_str(name);
            out.push_str("\":");
            json_string(&mut out, value);
        }
        for (name, value) in [("left", root.class_list().contains("left")), ("open", open), ("hidden", hidden)] {
            out.push_str(",\"");
            out.push_str(name);
            out.push_str(if value { "\":true" } else { "\":false" });
        }
        out.push('}');
        out
    }
}

/// Takes over the launcher the loader drew (still on the page), and tells the loader so.
fn adopt(handoff: &JsValue) -> Option<(Element, Element, HtmlElement, Element, Option<CssStyleSheet>)> {
    let get = |name: &str| Reflect::get(handoff, &name.into()).ok().filter(|v| v.is_truthy());
    let host: Element = get("host")?.dyn_into().ok()?;
    if !host.is_connected() {
        return None;
    }
    let root = get("root")?.dyn_into().ok()?;
    let launcher = get("launcher")?.dyn_into().ok()?;
    let badge = get("badge")?.dyn_into().ok()?;
    let theme = get("sheets").and_then(|s| Reflect::get(&s, &1.into()).ok()).and_then(|s| s.dyn_into().ok());
    let _ = Reflect::set(handoff, &"adopted".into(), &JsValue::TRUE);
    Some((host, root, launcher, badge, theme))
}

/// Theme values come from the server's configuration; still, keep them to characters that
/// cannot end a declaration or open a url().
fn is_safe_css_value(v: &str) -> bool {
    // `url(` found over bytes: `str::contains(&str)` brings core's substring searcher and the
    // slice-panic path into the wasm.
    v.len() <= 200
        && !v.contains([';', '{', '}', '<', '>', '\\'])
        && !v.as_bytes().windows(4).any(|w| w.eq_ignore_ascii_case(b"url("))
}

/// Appends `value` as a JSON string.
fn json_string(out: &mut String, value: &str) {
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                out.push_str("\\u00");
                out.push(char::from(b"0123456789abcdef"[c as usize >> 4]));
                out.push(char::from(b"0123456789abcdef"[c as usize & 15]));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}
