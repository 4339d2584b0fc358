//! The thread list of a multi-thread widget, and the header's back button that leads to it.

use std::fmt::Write as _;

use livechat_protocol::{Thread, ThreadStatus};
use wasm_bindgen::JsCast;
use web_sys::{Document, Element, HtmlElement};

use super::dom::{closest_attr, el, on, set_attr, set_hidden, ICON_BACK};
use super::log::Times;
use super::ActionSink;
use crate::core::{UiAction, Widget};
use crate::i18n::{text, Key};

pub(super) struct Threads {
    doc: Document,
    /// In the header: back to the list (the view puts it there).
    pub(super) back: HtmlElement,
    /// The list's `<nav>`, a child of the window.
    pub(super) nav: Element,
    title: Element,
    new_thread: Element,
    items: Element,
    /// The language and the threads (id, status, message count) the list was built from.
    signature: String,
}

impl Threads {
    /// Builds the back button and the (empty) list; choices go to `ui`.
    pub(super) fn mount(doc: &Document, ui: ActionSink) -> Option<Threads> {
        let back: HtmlElement = el(doc, "button", "back")?.dyn_into().ok()?;
        back.set_attribute("type", "button").ok()?;
        back.set_inner_html(ICON_BACK);
        let nav = el(doc, "nav", "threads")?;
        let title = el(doc, "h3", "threads-title")?;
        title.set_id("lc-threads-title");
        nav.set_attribute("aria-labelledby", "lc-threads-title").ok()?;
        let new_thread = el(doc, "button", "new-thread")?;
        new_thread.set_attribute("type", "button").ok()?;
        let items = el(doc, "ul", "thread-items")?;
        nav.append_child(&title).ok()?;
        nav.append_child(&new_thread).ok()?;
        nav.append_child(&items).ok()?;
        on(&back, "click", move |_| ui(UiAction::ShowThreadList));
        on(&new_thread, "click", move |_| ui(UiAction::SelectThread(None)));
        on(&items, "click", move |e| {
            if let Some(id) = closest_attr(&e, "[data-thread]", "data-thread") {
                ui(UiAction::SelectThread(Some(id)));
            }
        });
        Some(Threads { doc: doc.clone(), back, nav, title, new_thread, items, signature: String::new() })
    }

    /// Shows the back button in a multi-thread widget's conversation, the list when `list`
    /// (then brought in line with the core's threads, newest first).
    pub(super) fn render(&mut self, core: &Widget, lang: &str, multi: bool, list: bool, times: &mut Times) {
        set_attr(&self.back, "aria-label", text(lang, Key::BackToConversations));
        set_hidden(&self.back, !multi || list);
        set_hidden(&self.nav, !list);
        if !list {
            return;
        }
        self.title.set_text_content(Some(text(lang, Key::Conversations)));
        self.new_thread.set_text_content(Some(text(lang, Key::NewConversation)));
        let threads = core.conversations().threads();
        let mut signature = String::from(lang);
        for t in threads {
            let _ = write!(signature, "|{}:{}:{}", t.id, t.status.as_str(), t.messages.len());
        }
        if signature == self.signature {
            return;
        }
        self.signature = signature;
        self.items.set_text_content(None);
        if threads.is_empty() {
            if let Ok(li) = self.doc.create_element("li") {
                li.set_class_name("empty");
                li.set_text_content(Some(text(lang, Key::NoMessagesYet)));
                let _ = self.items.append_child(&li);
            }
        }
        for t in threads.iter().rev() {
            let _ = self.append(t, lang, times);
        }
    }

    fn append(&self, t: &Thread, lang: &str, times: &mut Times) -> Option<()> {
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
        status.set_text_content(Some(&format!("{} · {}", text(lang, label), times.format(when, lang))));
        button.append_child(&preview).ok()?;
        button.append_child(&status).ok()?;
        li.append_child(&button).ok()?;
        self.items.append_child(&li).ok()?;
        Some(())
    }
}
