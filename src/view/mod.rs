//! The view: renders the core's state into a shadow root. User and agent text is only
//! ever set as text (`textContent`, text nodes), never parsed as HTML.

use std::cell::Cell;
use std::fmt::Write as _;
use std::rc::Rc;

use js_sys::{Array, Object, Reflect};
use livechat_protocol::attachment::{self, Location};
use livechat_protocol::{Author, Message, ThreadStatus};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{CssStyleSheet, Document, Element, HtmlElement, HtmlTextAreaElement, KeyboardEvent, ShadowRootInit, ShadowRootMode};

use crate::core::{AttachmentProblem, Delivery, OutboxRequest, UiAction, Widget};
use crate::i18n::{html_lang, is_rtl, text, Key};
use crate::linkify::{segments, Segment};
use livechat_protocol::OutgoingBody;

/// Where the view sends what the visitor does (given at mount: the view knows nothing
/// of the driver).
pub type ActionSink = fn(UiAction);

/// The mounted widget DOM.
pub struct View {
    /// Server origin, for attachment links.
    base: String,
    doc: Document,
    host: Element,
    root: Element,
    launcher: HtmlElement,
    window: Element,
    title: Element,
    status: Element,
    close: HtmlElement,
    notice: Element,
    log: Element,
    items: Element,
    input: HtmlTextAreaElement,
    send: Element,
    attach: Element,
    badge: Element,
    /// The theme's custom properties (`.lc{--lc-primary:…}`), a constructable stylesheet:
    /// no inline `style`, so a strict CSP (`style-src 'self'`) applies it.
    theme: Option<CssStyleSheet>,
    /// The declarations now in `theme`.
    theme_css: String,
    /// What the loader needs to draw the launcher as it is now (see [`View::launcher_snapshot`]).
    snapshot: String,
    back: HtmlElement,
    threads: Element,
    threads_title: Element,
    new_thread: Element,
    thread_items: Element,
    form: Element,
    list_signature: String,
    /// The message list's rows now in the DOM, by key, in order.
    rendered: Vec<(String, Element)>,
    /// The language the rows were built in.
    log_lang: String,
    /// The language shown: the core's, or the one before it while its table loads.
    shown_lang: &'static str,
    /// The conversation the log shows.
    log_thread: Option<String>,
    /// `Intl.DateTimeFormat` for message times, built once per language (building one per
    /// message made a render of 200 messages take tens of milliseconds).
    time_format: Option<(String, TimeFormat)>,
    /// Whether the window was open at the last render (`None` before the first one).
    was_open: Option<bool>,
    /// Whether the visitor is at the bottom of the log (kept from scroll events, so a
    /// render never reads layout before changing the DOM).
    at_bottom: Rc<Cell<bool>>,
    /// A scroll to the bottom is already asked for the next animation frame.
    scroll_pending: Rc<Cell<bool>>,
    /// Above the messages: the polite status while an older page loads, and the line whose
    /// coming into view (`older_watch`) asks for older messages.
    older: Element,
    older_watch: web_sys::IntersectionObserver,
    /// (thread, history version) when `older` was last observed: observing again reports
    /// whether it is in view now (an observer reports only changes).
    older_seen: (Option<String>, u32),
}

impl View {
    /// Creates the widget's DOM in a shadow root, or completes the one the loader drew
    /// (`handoff`: the host, root, launcher and badge, and the theme stylesheet; see
    /// `www/widget/livechat.js`). `css` is the widget's stylesheet (`widget.css`, which the
    /// loader carries: the wasm does not). The visitor's actions go to `ui`. `None` if the
    /// DOM is unavailable.
    pub fn mount(base: &str, css: Option<&CssStyleSheet>, handoff: Option<&JsValue>, ui: ActionSink) -> Option<View> {
        let doc = web_sys::window()?.document()?;
        let el = |tag: &str, class: &str| -> Option<Element> {
            let e = doc.create_element(tag).ok()?;
            e.set_class_name(class);
            Some(e)
        };
        let (host, root, launcher, badge, theme, adopted) = match handoff.and_then(adopt) {
            Some((host, root, launcher, badge, theme)) => (host, root, launcher, badge, theme, true),
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
                let root = el("div", "lc")?;
                let launcher: HtmlElement = el("button", "launcher")?.dyn_into().ok()?;
                launcher.set_attribute("type", "button").ok()?;
                launcher.set_attribute("aria-controls", "lc-window").ok()?;
                launcher.set_inner_html(ICON_CHAT); // static markup of our own, no user text
                let badge = el("span", "badge")?;
                badge.set_attribute("aria-hidden", "true").ok()?;
                launcher.append_child(&badge).ok()?;
                root.append_child(&launcher).ok()?;
                shadow.append_child(&root).ok()?;
                (host, root, launcher, badge, theme, false)
            }
        };

        let window = el("section", "window")?;
        window.set_id("lc-window");
        window.set_attribute("role", "dialog").ok()?;
        let header = el("header", "header")?;
        let back: HtmlElement = el("button", "back")?.dyn_into().ok()?;
        back.set_attribute("type", "button").ok()?;
        back.set_inner_html(ICON_BACK);
        header.append_child(&back).ok()?;
        let heading = el("div", "heading")?;
        let title = el("h2", "title")?;
        title.set_id("lc-title");
        window.set_attribute("aria-labelledby", "lc-title").ok()?;
        let status = el("p", "status")?;
        heading.append_child(&title).ok()?;
        heading.append_child(&status).ok()?;
        let close: HtmlElement = el("button", "close")?.dyn_into().ok()?;
        close.set_attribute("type", "button").ok()?;
        close.set_inner_html(ICON_CLOSE);
        header.append_child(&heading).ok()?;
        header.append_child(&close).ok()?;

        let notice = el("p", "notice")?;
        notice.set_attribute("role", "status").ok()?;
        notice.set_attribute("dir", "auto").ok()?; // the offline message is the site's text
        // role=log sits on a wrapper: on the <ol> itself it would replace the list role.
        let log = el("div", "log")?;
        log.set_attribute("role", "log").ok()?;
        log.set_attribute("aria-live", "polite").ok()?;
        log.set_attribute("tabindex", "0").ok()?;
        let older = el("p", "older")?;
        older.set_attribute("role", "status").ok()?;
        log.append_child(&older).ok()?;
        let items = el("ol", "items")?;
        log.append_child(&items).ok()?;
        let reached = Closure::<dyn Fn(Array)>::new(move |entries: Array| {
            if entries.iter().any(|e| e.unchecked_into::<web_sys::IntersectionObserverEntry>().is_intersecting()) {
                ui(UiAction::LoadOlder);
            }
        });
        let watch = web_sys::IntersectionObserverInit::new();
        watch.set_root(Some(&log));
        watch.set_root_margin("300px 0px 0px"); // a little before the very top
        let older_watch = web_sys::IntersectionObserver::new_with_options(reached.as_ref().unchecked_ref(), &watch).ok()?;
        reached.forget(); // lives as long as the widget's DOM

        let form = el("form", "composer")?;
        let attach = el("button", "attach")?;
        attach.set_attribute("type", "button").ok()?;
        attach.set_inner_html(ICON_ATTACH);
        let picker: web_sys::HtmlInputElement = el("input", "picker")?.dyn_into().ok()?;
        picker.set_type("file");
        picker.set_hidden(true);
        picker.set_tab_index(-1);
        form.append_child(&attach).ok()?;
        form.append_child(&picker).ok()?;
        let input: HtmlTextAreaElement = el("textarea", "input")?.dyn_into().ok()?;
        input.set_rows(1);
        let send = el("button", "send")?;
        send.set_attribute("type", "submit").ok()?;
        send.set_inner_html(ICON_SEND);
        form.append_child(&input).ok()?;
        form.append_child(&send).ok()?;

        let threads = el("nav", "threads")?;
        let threads_title = el("h3", "threads-title")?;
        threads_title.set_id("lc-threads-title");
        threads.set_attribute("aria-labelledby", "lc-threads-title").ok()?;
        let new_thread = el("button", "new-thread")?;
        new_thread.set_attribute("type", "button").ok()?;
        let thread_items = el("ul", "thread-items")?;
        threads.append_child(&threads_title).ok()?;
        threads.append_child(&new_thread).ok()?;
        threads.append_child(&thread_items).ok()?;
        on(&back, "click", move |_| ui(UiAction::ShowThreadList));
        on(&new_thread, "click", move |_| ui(UiAction::SelectThread(None)));
        on(&thread_items, "click", move |e| {
            let id = e
                .target()
                .and_then(|t| t.dyn_into::<Element>().ok())
                .and_then(|t| t.closest("[data-thread]").ok().flatten())
                .and_then(|b| b.get_attribute("data-thread"));
            if let Some(id) = id {
                ui(UiAction::SelectThread(Some(id)));
            }
        });

        for child in [&header, &notice, &threads, &log, &form] {
            window.append_child(child).ok()?;
        }
        root.insert_before(&window, Some(&launcher)).ok()?;
        if !adopted {
            doc.body()?.append_child(&host).ok()?;
        }

        on(&launcher, "click", move |_| ui(UiAction::Toggle));
        on(&close, "click", move |_| ui(UiAction::Close));
        let area = input.clone();
        on(&input, "input", move |_| ui(UiAction::Draft(area.value())));
        on(&input, "keydown", move |e| {
            if let Some(k) = e.dyn_ref::<KeyboardEvent>() {
                if k.key() == "Enter" && !k.shift_key() && !k.is_composing() {
                    e.prevent_default();
                    ui(UiAction::Submit);
                }
            }
        });
        on(&form, "submit", move |e| {
            e.prevent_default();
            ui(UiAction::Submit);
        });
        let chooser = picker.clone();
        on(&attach, "click", move |_| chooser.click());
        let chosen = picker.clone();
        on(&picker, "change", move |_| {
            if let Some(file) = chosen.files().and_then(|f| f.get(0)) {
                read_file(file, ui);
            }
            chosen.set_value("");
        });
        on(&window, "dragover", move |e| e.prevent_default());
        on(&window, "drop", move |e| {
            e.prevent_default();
            let file = e
                .dyn_ref::<web_sys::DragEvent>()
                .and_then(|d| d.data_transfer())
                .and_then(|t| t.files())
                .and_then(|f| f.get(0));
            if let Some(file) = file {
                read_file(file, ui);
            }
        });
        on(&window, "keydown", move |e| {
            if e.dyn_ref::<KeyboardEvent>().is_some_and(|k| k.key() == "Escape") {
                ui(UiAction::Close);
            }
        });
        on(&log, "click", move |e| {
            let retry = e
                .target()
                .and_then(|t| t.dyn_into::<Element>().ok())
                .and_then(|t| t.closest("[data-retry]").ok().flatten())
                .and_then(|b| b.get_attribute("data-retry"));
            if let Some(id) = retry {
                ui(UiAction::Retry(id));
            }
        });

        let at_bottom = Rc::new(Cell::new(true));
        let flag = at_bottom.clone();
        let scrolled = log.clone();
        on(&log, "scroll", move |_| {
            flag.set(scrolled.scroll_height() - scrolled.scroll_top() - scrolled.client_height() < 40);
        });

        Some(View {
            base: base.to_string(),
            doc,
            host,
            root,
            launcher,
            window,
            title,
            status,
            close,
            notice,
            log,
            items,
            input,
            send,
            attach,
            badge,
            theme,
            theme_css: String::new(),
            snapshot: String::new(),
            back,
            threads,
            threads_title,
            new_thread,
            thread_items,
            form,
            list_signature: String::new(),
            rendered: Vec::new(),
            log_lang: String::new(),
            shown_lang: "en-US",
            log_thread: None,
            time_format: None,
            // A click on the loader's launcher opened the window: focus goes into it.
            was_open: handoff.filter(|h| Reflect::get(h, &"clicked".into()).is_ok_and(|c| c.is_truthy())).map(|_| false),
            at_bottom,
            scroll_pending: Rc::new(Cell::new(false)),
            older,
            older_watch,
            older_seen: (None, u32::MAX),
        })
    }

    /// Removes the widget from the page.
    pub fn remove(self) {
        self.host.remove();
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
        self.apply_theme(core);

        set_hidden(&self.launcher, !ui.launcher);
        set_attr(&self.launcher, "aria-expanded", if ui.open { "true" } else { "false" });
        set_hidden(&self.window, !ui.open);
        set_attr(&self.close, "aria-label", t(Key::Minimize));
        set_text(&self.title, Some(&config.title));
        set_text(&self.status, Some(t(if core.online() { Key::Online } else { Key::Away })));
        set_attr(&self.input, "placeholder", t(Key::MessagePlaceholder));
        set_attr(&self.input, "aria-label", t(Key::MessageLabel));
        set_attr(&self.send, "aria-label", t(Key::Send));
        set_attr(&self.attach, "aria-label", t(Key::Attach));
        set_hidden(&self.attach, config.attachments.allowed_types.is_empty());
        set_hidden(&self.badge, ui.unread == 0);
        set_text(&self.badge, Some(&ui.unread.min(99).to_string()));
        let label = if ui.open {
            t(Key::CloseChat).to_string()
        } else if ui.unread > 0 {
            format!("{} ({}: {})", t(Key::OpenChat), t(Key::UnreadMessages), ui.unread)
        } else {
            t(Key::OpenChat).to_string()
        };
        set_attr(&self.launcher, "aria-label", &label);
        self.snapshot = self.launcher_state(lang, &label, ui.unread, ui.open, !ui.launcher);

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

        let multi = config.multi_thread;
        set_attr(&self.back, "aria-label", t(Key::BackToConversations));
        set_hidden(&self.back, !multi || ui.thread_list);
        set_hidden(&self.threads, !(multi && ui.thread_list));
        set_hidden(&self.log, multi && ui.thread_list);
        set_hidden(&self.form, multi && ui.thread_list);
        if multi && ui.thread_list {
            self.render_threads(core, lang);
        }

        if self.input.value() != ui.draft {
            self.input.set_value(&ui.draft);
        }
        if ui.open && self.was_open != Some(true) && self.at_bottom.get() {
            self.scroll_to_bottom(); // a log hidden with the window has no scroll position
        }
        self.render_log(core, lang);

        // Focus moves only when the visitor opens or closes the window during this page's
        // life; a window restored open on load never takes focus from the page.
        match self.was_open {
            Some(false) if ui.open => {
                let _ = self.input.focus();
            }
            Some(true) if !ui.open && self.focus_inside() => {
                // Focus returns to the launcher when the window closes under it.
                let _ = self.launcher.focus();
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
        &self.snapshot
    }

    fn launcher_state(&self, lang: &str, label: &str, unread: u32, open: bool, hidden: bool) -> String {
        let badge = if unread == 0 { String::new() } else { unread.min(99).to_string() };
        let theme = self.root.get_attribute("data-theme").unwrap_or_default();
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
        for (name, value) in [("left", self.root.class_list().contains("left")), ("open", open), ("hidden", hidden)] {
            out.push_str(",\"");
            out.push_str(name);
            out.push_str(if value { "\":true" } else { "\":false" });
        }
        out.push('}');
        out
    }

    fn apply_theme(&mut self, core: &Widget) {
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
        let _ = self.root.class_list().toggle_with_force("left", left);
        set_attr(&self.root, "data-theme", core.theme().unwrap_or("default"));
    }

    fn render_log(&mut self, core: &Widget, lang: &str) {
        let thread_id = core.current_thread();
        let thread = thread_id.and_then(|id| core.conversations().get(id));
        // The DOM holds the newest messages only (`core::history::SHOWN`, so long histories
        // stay fast), plus the older ones the visitor scrolled up to.
        let shown = thread_id.map_or(0, |id| core.history().shown(id));
        let messages = thread.map_or(&[][..], |t| &t.messages[t.messages.len().saturating_sub(shown)..]);
        let loading = thread_id.is_some_and(|id| core.history().loading(id));
        set_text(&self.older, loading.then(|| text(lang, Key::LoadingEarlier)));
        set_attr(&self.log, "aria-busy", if loading { "true" } else { "false" });
        let seen = (thread_id.map(str::to_string), core.history().version());
        if seen != self.older_seen {
            self.older_seen = seen;
            self.older_watch.unobserve(&self.older);
            self.older_watch.observe(&self.older);
        }
        let pending: Vec<_> = core
            .outbox()
            .iter()
            .filter(|o| matches!(&o.request, OutboxRequest::Message { thread_id: t, .. } if t.is_none() || t.as_deref() == thread_id))
            .collect();

        // What the list should show, as keyed rows. A row's key changes whenever its
        // content would, so rows already in the DOM are kept and only new ones are built:
        // an event costs one or two new `<li>`, not a rebuild of the whole list.
        let mut rows: Vec<(String, LogRow)> = Vec::with_capacity(messages.len() + pending.len() + 1);
        for m in messages.iter().filter(|m| m.text.is_some() || m.attachment.is_some()) {
            // (CUSTOM_DATA without a userMessage has nothing for the visitor.)
            rows.push((format!("m{}", m.id), LogRow::Message(m)));
        }
        for p in &pending {
            let OutboxRequest::Message { body, .. } = &p.request else { continue };
            let content = match body {
                OutgoingBody::Basic { text: Some(t), .. } => t.as_str(),
                OutgoingBody::Basic { attachment: Some(a), .. } => a.file_name.as_str(),
                OutgoingBody::CustomData { user_message: Some(u), .. } => u.as_str(),
                _ => continue,
            };
            let uploading = matches!(body, OutgoingBody::Basic { attachment: Some(_), .. });
            let failed = matches!(p.status, Delivery::Failed { .. });
            rows.push((format!("p{}{}", u8::from(failed), p.id), LogRow::Pending { id: &p.id, content, uploading, failed }));
        }
        if rows.is_empty() {
            rows.insert(0, ("welcome".into(), LogRow::System(Key::Welcome)));
        }
        match thread.map(|t| t.status) {
            Some(ThreadStatus::Solved) => rows.push(("solved".into(), LogRow::System(Key::ConversationSolved))),
            Some(ThreadStatus::Closed) => rows.push(("closed".into(), LogRow::System(Key::ConversationClosed))),
            _ => {}
        }

        if self.log_thread.as_deref() != thread_id {
            // Another conversation opens at its end.
            self.log_thread = thread_id.map(str::to_string);
            self.at_bottom.set(true);
        }
        if self.log_lang != lang {
            // Labels and times are in the language: every row is rebuilt.
            self.log_lang = lang.to_string();
            self.rendered.clear();
            self.items.set_text_content(None);
        }
        let unchanged = rows.len() == self.rendered.len() && rows.iter().zip(&self.rendered).all(|((k, _), (old, _))| k == old);
        if unchanged {
            return;
        }
        // Rows added above the first one (an older page): what the visitor looks at stays in
        // place, the scroll position moving down by what was added (read before the change,
        // so only such a render forces a layout).
        let prepending = !self.at_bottom.get()
            && matches!((self.rendered.first(), rows.first()), (Some((first, _)), Some((top, _)))
                if first != top && rows.iter().any(|(k, _)| k == first));
        let anchor = prepending.then(|| (self.log.scroll_height(), self.log.scroll_top()));

        // Match rows to the old ones by key; both lists are mostly in the same order, so
        // the search starts where the last match was.
        let mut old: Vec<Option<(String, Element)>> = self.rendered.drain(..).map(Some).collect();
        let mut next = Vec::with_capacity(rows.len());
        let mut hint = 0;
        for (key, row) in rows {
            let found = (hint..old.len()).chain(0..hint).find(|&i| old[i].as_ref().is_some_and(|(k, _)| *k == key));
            let kept = found.and_then(|i| {
                hint = i + 1;
                old[i].take()
            });
            let el = match kept {
                Some((_, el)) => el,
                None => match self.build_row(&row, lang) {
                    Some(el) => el,
                    None => continue,
                },
            };
            next.push((key, el));
        }
        for (_, el) in old.into_iter().flatten() {
            el.remove();
        }
        // Kept rows are already in order; new ones go in where they belong.
        let mut cursor = self.items.first_element_child();
        for (_, el) in &next {
            if cursor.as_ref() == Some(el) {
                cursor = el.next_element_sibling();
            } else {
                let _ = self.items.insert_before(el, cursor.as_ref().map(|c| c.as_ref()));
            }
        }
        self.rendered = next;
        if let Some((height, top)) = anchor {
            self.log.set_scroll_top(top + self.log.scroll_height() - height);
        }
        if self.at_bottom.get() {
            self.scroll_to_bottom();
        }
    }

    fn build_row(&mut self, row: &LogRow, lang: &str) -> Option<Element> {
        match *row {
            LogRow::System(key) => self.system_row(text(lang, key)),
            LogRow::Message(m) => {
                let class = match m.author {
                    Author::Visitor => "msg visitor",
                    Author::Agent => "msg agent",
                    Author::System => "msg system",
                };
                let who = match m.author {
                    Author::Visitor => text(lang, Key::You),
                    Author::Agent => m.agent_name.as_deref().unwrap_or(text(lang, Key::Agent)),
                    Author::System => "",
                };
                self.message_row(class, who, m, lang)
            }
            LogRow::Pending { id, content, uploading, failed } => {
                let state = match (failed, uploading) {
                    (true, _) => (text(lang, Key::NotDelivered), Some(id)),
                    (false, true) => (text(lang, Key::Uploading), None),
                    (false, false) => (text(lang, Key::Sending), None),
                };
                self.pending_row(text(lang, Key::You), content, lang, state, uploading)
            }
        }
    }

    fn render_threads(&mut self, core: &Widget, lang: &str) {
        self.threads_title.set_text_content(Some(text(lang, Key::Conversations)));
        self.new_thread.set_text_content(Some(text(lang, Key::NewConversation)));
        let threads = core.conversations().threads();
        let mut signature = String::from(lang);
        for t in threads {
            let _ = write!(signature, "|{}:{}:{}", t.id, t.status.as_str(), t.messages.len());
        }
        if signature == self.list_signature {
            return;
        }
        self.list_signature = signature;
        self.thread_items.set_text_content(None);
        if threads.is_empty() {
            if let Ok(li) = self.doc.create_element("li") {
                li.set_class_name("empty");
                li.set_text_content(Some(text(lang, Key::NoMessagesYet)));
                let _ = self.thread_items.append_child(&li);
            }
        }
        for t in threads.iter().rev() {
            let _ = self.append_thread(t, lang);
        }
    }

    fn append_thread(&mut self, t: &livechat_protocol::Thread, lang: &str) -> Option<()> {
        let li = self.doc.create_element("li").ok()?;
        let button = self.doc.create_element("button").ok()?;
        button.set_attribute("type", "button").ok()?;
        button.set_attribute("data-thread", &t.id).ok()?;
        button.set_class_name("thread");
        let last = t.messages.iter().rev().find_map(|m| m.text.as_deref().or(m.attachment.as_ref().map(|a| a.file_name.as_str())));
        let preview = self.doc.create_element("span").ok()?;
        preview.set_class_name("preview");
        preview.set_attribute("dir", "auto").ok()?;
        preview.set_text_content(Some(last.unwrap_or(text(lang, Key::NoMessagesYet))));
        let status = self.doc.create_element("span").ok()?;
        status.set_class_name("thread-status");
        let label = match t.status {
            ThreadStatus::Open => Key::StatusOpen,
            ThreadStatus::Solved => Key::StatusSolved,
            ThreadStatus::Closed => Key::StatusClosed,
        };
        let when = t.messages.last().map_or(t.created_at, |m| m.created_at);
        status.set_text_content(Some(&format!("{} · {}", text(lang, label), self.format_time(when, lang))));
        button.append_child(&preview).ok()?;
        button.append_child(&status).ok()?;
        li.append_child(&button).ok()?;
        self.thread_items.append_child(&li).ok()?;
        Some(())
    }

    /// A time of day (`14:05`) in the widget's language.
    fn format_time(&mut self, at: u64, lang: &str) -> String {
        if self.time_format.as_ref().map_or(true, |(l, _)| l != lang) {
            let options = Object::new();
            let _ = Reflect::set(&options, &"hour".into(), &"2-digit".into());
            let _ = Reflect::set(&options, &"minute".into(), &"2-digit".into());
            self.time_format = TimeFormat::new(html_lang(lang), &options).ok().map(|f| (lang.to_string(), f));
        }
        self.time_format.as_ref().map(|(_, f)| f.format(at as f64)).unwrap_or_default()
    }

    /// Scrolls the log to its end in the next animation frame, when the browser lays the
    /// page out anyway: reading `scrollHeight` right after changing the DOM would force a
    /// synchronous layout on every event.
    fn scroll_to_bottom(&self) {
        if self.scroll_pending.replace(true) {
            return;
        }
        let (log, pending) = (self.log.clone(), self.scroll_pending.clone());
        let frame = Closure::once_into_js(move || {
            pending.set(false);
            log.set_scroll_top(log.scroll_height());
        });
        if let Some(w) = web_sys::window() {
            let _ = w.request_animation_frame(frame.unchecked_ref());
        }
    }

    fn system_row(&self, content: &str) -> Option<Element> {
        let li = self.doc.create_element("li").ok()?;
        li.set_class_name("msg system");
        li.set_text_content(Some(content));
        Some(li)
    }

    fn message_row(&mut self, class: &str, who: &str, m: &Message, lang: &str) -> Option<Element> {
        let (li, bubble) = self.bubble(class, who)?;
        if let Some(text_content) = &m.text {
            for segment in segments(text_content) {
                match segment {
                    Segment::Text(t) => {
                        bubble.append_child(&self.doc.create_text_node(t)).ok()?;
                    }
                    Segment::Link(url) => {
                        let a = self.doc.create_element("a").ok()?;
                        a.set_attribute("href", url).ok()?;
                        a.set_attribute("target", "_blank").ok()?;
                        a.set_attribute("rel", "noopener noreferrer").ok()?;
                        a.set_text_content(Some(url));
                        bubble.append_child(&a).ok()?;
                    }
                }
            }
        }
        if let Some(file) = &m.attachment {
            let label = format!("{} · {}", file.file_name, text(lang, Key::Download));
            match attachment::locate(&self.base, &file.url) {
                Some(Location::Server(href)) => {
                    let a = self.doc.create_element("a").ok()?;
                    a.set_class_name("file");
                    a.set_attribute("href", &href).ok()?;
                    a.set_attribute("download", &file.file_name).ok()?;
                    a.set_attribute("rel", "noopener noreferrer").ok()?;
                    if file.content_type.starts_with("image/") {
                        let img = self.doc.create_element("img").ok()?;
                        img.set_attribute("src", &href).ok()?;
                        img.set_attribute("alt", &file.file_name).ok()?;
                        img.set_attribute("loading", "lazy").ok()?;
                        a.append_child(&img).ok()?;
                    } else {
                        a.set_text_content(Some(&label));
                    }
                    bubble.append_child(&a).ok()?;
                }
                Some(Location::External(href)) => {
                    let a = self.doc.create_element("a").ok()?;
                    a.set_class_name("file");
                    a.set_attribute("href", &href).ok()?;
                    a.set_attribute("target", "_blank").ok()?;
                    a.set_attribute("rel", "noopener noreferrer").ok()?;
                    a.set_text_content(Some(&file.file_name));
                    bubble.append_child(&a).ok()?;
                }
                None => {
                    let span = self.doc.create_element("span").ok()?;
                    span.set_class_name("file");
                    span.set_text_content(Some(&file.file_name));
                    bubble.append_child(&span).ok()?;
                }
            }
        }
        let meta = self.doc.create_element("p").ok()?;
        meta.set_class_name("meta");
        meta.set_text_content(Some(&self.format_time(m.created_at, lang)));
        li.append_child(&meta).ok()?;
        Some(li)
    }

    fn pending_row(
        &self,
        who: &str,
        content: &str,
        lang: &str,
        state: (&str, Option<&str>),
        uploading: bool,
    ) -> Option<Element> {
        let (li, bubble) = self.bubble("msg visitor pending", who)?;
        bubble.set_text_content(Some(content));
        if uploading && state.1.is_none() {
            // The file travels inside the message frame: progress is indeterminate.
            let bar = self.doc.create_element("progress").ok()?;
            bar.set_attribute("aria-label", state.0).ok()?;
            bubble.append_child(&bar).ok()?;
        }
        let meta = self.doc.create_element("p").ok()?;
        meta.set_class_name("meta");
        meta.set_text_content(Some(state.0));
        if let Some(id) = state.1 {
            let button = self.doc.create_element("button").ok()?;
            button.set_attribute("type", "button").ok()?;
            button.set_attribute("data-retry", id).ok()?;
            button.set_text_content(Some(text(lang, Key::Retry)));
            meta.append_child(&button).ok()?;
        }
        li.append_child(&meta).ok()?;
        Some(li)
    }

    /// Builds `<li class><span sr-only>who: </span><p bubble/></li>` and returns both.
    fn bubble(&self, class: &str, who: &str) -> Option<(Element, Element)> {
        let li = self.doc.create_element("li").ok()?;
        li.set_class_name(class);
        let author = self.doc.create_element("span").ok()?;
        author.set_class_name("sr-only");
        author.set_text_content(Some(&format!("{who}: ")));
        li.append_child(&author).ok()?;
        let bubble = self.doc.create_element("p").ok()?;
        bubble.set_class_name("bubble");
        // Visitors and agents write in their own direction (Arabic in an English widget, an
        // English URL in an Arabic one): each bubble takes the direction of its text.
        bubble.set_attribute("dir", "auto").ok()?;
        li.append_child(&bubble).ok()?;
        Some((li, bubble))
    }
}

/// One row of the message list.
enum LogRow<'a> {
    System(Key),
    Message(&'a Message),
    Pending { id: &'a str, content: &'a str, uploading: bool, failed: bool },
}

#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    /// `Intl.DateTimeFormat`, bound directly: one instance formats every time in a language.
    #[wasm_bindgen(js_namespace = Intl, js_name = DateTimeFormat)]
    type TimeFormat;
    #[wasm_bindgen(catch, constructor, js_namespace = Intl, js_class = "DateTimeFormat")]
    fn new(locale: &str, options: &Object) -> Result<TimeFormat, JsValue>;
    #[wasm_bindgen(method, js_class = "DateTimeFormat")]
    fn format(this: &TimeFormat, date: f64) -> String;
}

/// Reads a picked or dropped file as a data URL and hands it to the core.
fn read_file(file: web_sys::File, ui: ActionSink) {
    let Ok(reader) = web_sys::FileReader::new() else { return };
    let name = file.name();
    let r = reader.clone();
    let onload = Closure::once_into_js(move || {
        if let Some(content) = r.result().ok().and_then(|v| v.as_string()) {
            ui(UiAction::Attach { file_name: name, content });
        }
    });
    reader.set_onload(Some(onload.unchecked_ref()));
    let _ = reader.read_as_data_url(&file);
}

fn set_hidden(el: &Element, hidden: bool) {
    if el.has_attribute("hidden") != hidden {
        let _ = if hidden { el.set_attribute("hidden", "") } else { el.remove_attribute("hidden") };
    }
}

/// Sets an attribute only when it changes: rewriting the same value still invalidates
/// style, and every event renders.
fn set_attr(el: &Element, name: &str, value: &str) {
    if el.get_attribute(name).as_deref() != Some(value) {
        let _ = el.set_attribute(name, value);
    }
}

/// Sets text content only when it changes.
fn set_text(el: &Element, value: Option<&str>) {
    if el.text_content().as_deref().unwrap_or("") != value.unwrap_or("") {
        el.set_text_content(value);
    }
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

fn on(target: &web_sys::EventTarget, event: &str, handler: impl Fn(web_sys::Event) + 'static) {
    let closure = Closure::<dyn Fn(web_sys::Event)>::new(handler);
    let _ = target.add_event_listener_with_callback(event, closure.as_ref().unchecked_ref());
    closure.forget(); // lives as long as the widget's DOM
}

const ICON_CHAT: &str = r#"<svg aria-hidden="true" viewBox="0 0 24 24" width="28" height="28"><path fill="currentColor" d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z"/></svg>"#;
const ICON_CLOSE: &str = r#"<svg aria-hidden="true" viewBox="0 0 24 24" width="20" height="20"><path fill="currentColor" d="M6.4 5 12 10.6 17.6 5 19 6.4 13.4 12l5.6 5.6-1.4 1.4-5.6-5.6L6.4 19 5 17.6 10.6 12 5 6.4z"/></svg>"#;
const ICON_ATTACH: &str = r#"<svg aria-hidden="true" viewBox="0 0 24 24" width="20" height="20"><path fill="currentColor" d="M16.5 6v11.5a4 4 0 0 1-8 0V5a2.5 2.5 0 0 1 5 0v10.5a1 1 0 0 1-2 0V6H10v9.5a2.5 2.5 0 0 0 5 0V5a4 4 0 0 0-8 0v12.5a5.5 5.5 0 0 0 11 0V6z"/></svg>"#;
const ICON_BACK: &str = r#"<svg aria-hidden="true" viewBox="0 0 24 24" width="20" height="20"><path fill="currentColor" d="M20 11H7.8l5.6-5.6L12 4l-8 8 8 8 1.4-1.4L7.8 13H20z"/></svg>"#;
const ICON_SEND: &str = r#"<svg aria-hidden="true" viewBox="0 0 24 24" width="20" height="20"><path fill="currentColor" d="M3 20.5 21 12 3 3.5v6.6L15 12 3 13.9z"/></svg>"#;
