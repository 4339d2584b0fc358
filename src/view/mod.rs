//! The view: renders the core's state into a shadow root. User and agent text is only
//! ever set as text (`textContent`, text nodes), never parsed as HTML.
//!
//! `View` wires its parts, each owning its elements: the [`launcher`] (with the theme and
//! the loader's snapshot), the [`threads`] list, the message [`log`] and the [`composer`];
//! it keeps the window's frame (header, notice) and the focus itself.

mod composer;
mod dom;
mod launcher;
mod log;
mod threads;

use js_sys::Reflect;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{CssStyleSheet, Document, Element, HtmlElement, KeyboardEvent};

use crate::core::{AttachmentProblem, UiAction, Widget};
use crate::i18n::{html_lang, is_rtl, text, Key};
use composer::Composer;
use dom::{el, on, set_attr, set_hidden, set_text, ICON_CLOSE};
use launcher::{Launcher, Shell};
use log::Log;
use threads::Threads;

/// Where the view sends what the visitor does (given at mount: the view knows nothing
/// of the driver).
pub type ActionSink = fn(UiAction);

/// The mounted widget DOM.
pub struct View {
    doc: Document,
    host: Element,
    /// The `.lc` root in the shadow root: `lang`, `dir`, the theme's name and side.
    root: Element,
    launcher: Launcher,
    window: Element,
    title: Element,
    status: Element,
    close: HtmlElement,
    notice: Element,
    threads: Threads,
    log: Log,
    composer: Composer,
    /// The language shown: the core's, or the one before it while its table loads.
    shown_lang: &'static str,
    /// Whether the window was open at the last render (`None` before the first one).
    was_open: Option<bool>,
}

impl View {
    /// Creates the widget's DOM in a shadow root, or completes the one the loader drew
    /// (`handoff`: the host, root, launcher and badge, and the theme stylesheet; see
    /// `www/widget/livechat.js`). `css` is the widget's stylesheet (`widget.css`, which the
    /// loader carries: the wasm does not). The visitor's actions go to `ui`. `None` if the
    /// DOM is unavailable.
    pub fn mount(base: &str, css: Option<&CssStyleSheet>, handoff: Option<&JsValue>, ui: ActionSink) -> Option<View> {
        let doc = web_sys::window()?.document()?;
        let Shell { host, root, launcher, adopted } = Launcher::mount(&doc, css, handoff)?;

        let window = el(&doc, "section", "window")?;
        window.set_id("lc-window");
        window.set_attribute("role", "dialog").ok()?;
        let threads = Threads::mount(&doc, ui)?;
        let header = el(&doc, "header", "header")?;
        header.append_child(&threads.back).ok()?;
        let heading = el(&doc, "div", "heading")?;
        let title = el(&doc, "h2", "title")?;
        title.set_id("lc-title");
        window.set_attribute("aria-labelledby", "lc-title").ok()?;
        let status = el(&doc, "p", "status")?;
        heading.append_child(&title).ok()?;
        heading.append_child(&status).ok()?;
        let close: HtmlElement = el(&doc, "button", "close")?.dyn_into().ok()?;
        close.set_attribute("type", "button").ok()?;
        close.set_inner_html(ICON_CLOSE);
        header.append_child(&heading).ok()?;
        header.append_child(&close).ok()?;

        let notice = el(&doc, "p", "notice")?;
        notice.set_attribute("role", "status").ok()?;
        notice.set_attribute("dir", "auto").ok()?; // the offline message is the site's text
        let log = Log::mount(&doc, base, ui)?;
        let composer = Composer::mount(&doc, ui)?;

        for child in [&header, &notice, &threads.nav, &log.el, &composer.form] {
            window.append_child(child).ok()?;
        }
        root.insert_before(&window, Some(&launcher.button)).ok()?;
        if !adopted {
            doc.body()?.append_child(&host).ok()?;
        }

        on(&launcher.button, "click", move |_| ui(UiAction::Toggle));
        on(&close, "click", move |_| ui(UiAction::Close));
        composer::accept_drops(&window, ui);
        on(&window, "keydown", move |e| {
            if e.dyn_ref::<KeyboardEvent>().is_some_and(|k| k.key() == "Escape") {
                ui(UiAction::Close);
            }
        });

        Some(View {
            doc,
            host,
            root,
            launcher,
            window,
            title,
            status,
            close,
            notice,
            threads,
            log,
            composer,
            shown_lang: "en-US",
            // A click on the loader's launcher opened the window: focus goes into it.
            was_open: handoff.filter(|h| Reflect::get(h, &"clicked".into()).is_ok_and(|c| c.is_truthy())).map(|_| false),
        })
    }

    /// Removes the widget from the page.
    pub fn remove(self) {
        self.host.remove();
    }

    /// Removes the launcher the loader drew (`handoff`) when no view will adopt it (the
    /// `init` it was drawn for failed): not a button that does nothing.
    pub fn discard_drawn(handoff: &JsValue) {
        if let Some(host) = Reflect::get(handoff, &"host".into()).ok().and_then(|h| h.dyn_into::<Element>().ok()) {
            host.remove();
        }
        let _ = Reflect::set(handoff, &"host".into(), &JsValue::NULL);
    }

    /// Brings the DOM in line with the core's state.
    pub fn render(&mut self, core: &Widget) {
        let Some(config) = core.config() else { return };
        // Texts, `lang` and `dir` switch together, once the language's table is loaded.
        let wanted = core.language();
        let lang = if crate::i18n::ready(wanted) { wanted } else { self.shown_lang };
        self.shown_lang = lang;
        let t = |k: Key| text(lang, k);
        let ui = core.ui();

        set_attr(&self.root, "lang", html_lang(lang));
        set_attr(&self.root, "dir", if is_rtl(lang) { "rtl" } else { "ltr" });
        self.launcher.apply_theme(&self.root, core);
        self.launcher.render(&self.root, ui, lang);

        set_hidden(&self.window, !ui.open);
        set_attr(&self.close, "aria-label", t(Key::Minimize));
        set_text(&self.title, Some(&config.title));
        set_text(&self.status, Some(t(if core.online() { Key::Online } else { Key::Away })));
        let notice = if let Some(problem) = core.attach_error() {
            Some(t(match problem {
                AttachmentProblem::TooLarge => Key::FileTooLarge,
                AttachmentProblem::TypeNotAllowed => Key::FileTypeNotAllowed,
            })
            .to_string())
        } else if !core.connected() && !core.outbox().is_empty() {
            Some(t(Key::Reconnecting).to_string())
        } else if !core.online() && !config.offline_message.is_empty() {
            Some(config.offline_message.clone())
        } else {
            None
        };
        set_hidden(&self.notice, notice.is_none());
        set_text(&self.notice, notice.as_deref());

        // A multi-thread widget shows either the thread list or a conversation.
        let list = config.multi_thread && ui.thread_list;
        set_hidden(&self.log.el, list);
        set_hidden(&self.composer.form, list);
        self.threads.render(core, lang, config.multi_thread, list, &mut self.log.times);
        self.composer.render(lang, !config.attachments.allowed_types.is_empty(), &ui.draft);

        if ui.open && self.was_open != Some(true) {
            self.log.shown(); // a log hidden with the window has no scroll position
        }
        self.log.render(core, lang);

        // Focus moves only when the visitor opens or closes the window during this page's
        // life; a window restored open on load never takes focus from the page.
        match self.was_open {
            Some(false) if ui.open => self.composer.focus(),
            Some(true) if !ui.open && self.focus_inside() => {
                // Focus returns to the launcher when the window closes under it.
                let _ = self.launcher.button.focus();
            }
            _ => {}
        }
        self.was_open = Some(ui.open);
    }

    fn focus_inside(&self) -> bool {
        self.host.shadow_root().and_then(|s| s.active_element()).is_some() || self.doc.active_element().as_ref() == Some(&self.host)
    }

    /// The launcher as the last render left it, as JSON for `localStorage` (written by the
    /// driver as `livechat:<id>:launcher`): the loader draws it from this on the next page
    /// before the wasm is loaded. Changes only when the launcher does.
    pub fn launcher_snapshot(&self) -> &str {
        self.launcher.snapshot()
    }
}
