//! The message list: keyed rows (an event builds only its new rows), the scroll to the
//! newest message, and the line above the messages that asks for older ones.

use std::cell::Cell;
use std::rc::Rc;

use js_sys::{Array, Object, Reflect};
use livechat_protocol::attachment::{self, Location};
use livechat_protocol::{Author, Message, OutgoingBody, ThreadStatus};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Document, Element, IntersectionObserver, IntersectionObserverEntry, IntersectionObserverInit};

use super::dom::{closest_attr, el, on, set_attr, set_text};
use super::ActionSink;
use crate::core::{Delivery, OutboxRequest, UiAction, Widget};
use crate::i18n::{html_lang, text, Key};
use crate::linkify::{segments, Segment};

pub(super) struct Log {
    doc: Document,
    /// Server origin, for attachment links.
    base: String,
    /// The scrolling wrapper (`role=log`) of `older` and `items`.
    pub(super) el: Element,
    items: Element,
    /// Above the messages: the polite status while an older page loads, and the line whose
    /// coming into view (`older_watch`) asks for older messages.
    older: Element,
    older_watch: IntersectionObserver,
    /// (thread, history version) when `older` was last observed: observing again reports
    /// whether it is in view now (an observer reports only changes).
    older_seen: (Option<String>, u32),
    /// The rows now in the DOM, by key, in order.
    rendered: Vec<(String, Element)>,
    /// The language the rows were built in.
    lang: String,
    /// The conversation shown.
    thread: Option<String>,
    /// Message times (the thread list's too).
    pub(super) times: Times,
    /// Whether the visitor is at the bottom of the log (kept from scroll events, so a
    /// render never reads layout before changing the DOM).
    at_bottom: Rc<Cell<bool>>,
    /// A scroll to the bottom is already asked for the next animation frame.
    scroll_pending: Rc<Cell<bool>>,
}

/// One row of the message list.
enum LogRow<'a> {
    System(Key),
    Message(&'a Message),
    Pending { id: &'a str, content: &'a str, uploading: bool, failed: bool },
}

impl Log {
    /// Builds the (empty) list; a retry button in it and the older-history line report to `ui`.
    pub(super) fn mount(doc: &Document, base: &str, ui: ActionSink) -> Option<Log> {
        // role=log sits on a wrapper: on the <ol> itself it would replace the list role.
        let log = el(doc, "div", "log")?;
        log.set_attribute("role", "log").ok()?;
        log.set_attribute("aria-live", "polite").ok()?;
        log.set_attribute("tabindex", "0").ok()?;
        let older = el(doc, "p", "older")?;
        older.set_attribute("role", "status").ok()?;
        log.append_child(&older).ok()?;
        let items = el(doc, "ol", "items")?;
        log.append_child(&items).ok()?;
        let reached = Closure::<dyn Fn(Array)>::new(move |entries: Array| {
            if entries.iter().any(|e| e.unchecked_into::<IntersectionObserverEntry>().is_intersecting()) {
                ui(UiAction::LoadOlder);
            }
        });
        let watch = IntersectionObserverInit::new();
        watch.set_root(Some(&log));
        watch.set_root_margin("300px 0px 0px"); // a little before the very top
        let older_watch = IntersectionObserver::new_with_options(reached.as_ref().unchecked_ref(), &watch).ok()?;
        reached.forget(); // lives as long as the widget's DOM

        on(&log, "click", move |e| {
            if let Some(id) = closest_attr(&e, "[data-retry]", "data-retry") {
                ui(UiAction::Retry(id));
            }
        });
        let at_bottom = Rc::new(Cell::new(true));
        let flag = at_bottom.clone();
        let scrolled = log.clone();
        on(&log, "scroll", move |_| {
            flag.set(scrolled.scroll_height() - scrolled.scroll_top() - scrolled.client_height() < 40);
        });

        Some(Log {
            doc: doc.clone(),
            base: base.to_string(),
            el: log,
            items,
            older,
            older_watch,
            older_seen: (None, u32::MAX),
            rendered: Vec::new(),
            lang: String::new(),
            thread: None,
            times: Times::default(),
            at_bottom,
            scroll_pending: Rc::new(Cell::new(false)),
        })
    }

    /// The window opens: a log hidden with it had no scroll position, so one the visitor
    /// left at the bottom goes to the bottom again.
    pub(super) fn shown(&self) {
        if self.at_bottom.get() {
            self.scroll_to_bottom();
        }
    }

    /// Brings the list in line with the current conversation: its shown messages, the
    /// outbox's, the status rows.
    pub(super) fn render(&mut self, core: &Widget, lang: &str) {
        let thread_id = core.current_thread();
        let thread = thread_id.and_then(|id| core.conversations().get(id));
        // The DOM holds the newest messages only (`core::history::SHOWN`, so long histories
        // stay fast), plus the older ones the visitor scrolled up to.
        let shown = thread_id.map_or(0, |id| core.history().shown(id));
        let messages = thread.map_or(&[][..], |t| &t.messages[t.messages.len().saturating_sub(shown)..]);
        let loading = thread_id.is_some_and(|id| core.history().loading(id));
        set_text(&self.older, loading.then(|| text(lang, Key::LoadingEarlier)));
        set_attr(&self.el, "aria-busy", if loading { "true" } else { "false" });
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

        if self.thread.as_deref() != thread_id {
            // Another conversation opens at its end.
            self.thread = thread_id.map(str::to_string);
            self.at_bottom.set(true);
        }
        if self.lang != lang {
            // Labels and times are in the language: every row is rebuilt.
            self.lang = lang.to_string();
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
        let anchor = prepending.then(|| (self.el.scroll_height(), self.el.scroll_top()));

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
            self.el.set_scroll_top(top + self.el.scroll_height() - height);
        }
        if self.at_bottom.get() {
            self.scroll_to_bottom();
        }
    }

    /// Scrolls the log to its end in the next animation frame, when the browser lays the
    /// page out anyway: reading `scrollHeight` right after changing the DOM would force a
    /// synchronous layout on every event.
    fn scroll_to_bottom(&self) {
        if self.scroll_pending.replace(true) {
            return;
        }
        let (log, pending) = (self.el.clone(), self.scroll_pending.clone());
        let frame = Closure::once_into_js(move || {
            pending.set(false);
            log.set_scroll_top(log.scroll_height());
        });
        if let Some(w) = web_sys::window() {
            let _ = w.request_animation_frame(frame.unchecked_ref());
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
        meta.set_text_content(Some(&self.times.format(m.created_at, lang)));
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

/// Times of day (`14:05`) in the widget's language, with an `Intl.DateTimeFormat` built
/// once per language (building one per message made a render of 200 messages take tens of
/// milliseconds).
#[derive(Default)]
pub(super) struct Times(Option<(String, TimeFormat)>);

impl Times {
    pub(super) fn format(&mut self, at: u64, lang: &str) -> String {
        if self.0.as_ref().map_or(true, |(l, _)| l != lang) {
            let options = Object::new();
            let _ = Reflect::set(&options, &"hour".into(), &"2-digit".into());
            let _ = Reflect::set(&options, &"minute".into(), &"2-digit".into());
            self.0 = TimeFormat::new(html_lang(lang), &options).ok().map(|f| (lang.to_string(), f));
        }
        self.0.as_ref().map(|(_, f)| f.format(at as f64)).unwrap_or_default()
    }
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
