//! The composer: the message textarea (its draft is the core's), send, the attach button
//! and its file picker, and files dropped on the window.

use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{Document, Element, HtmlInputElement, HtmlTextAreaElement, KeyboardEvent};

use super::dom::{el, on, set_attr, set_hidden, ICON_ATTACH, ICON_SEND};
use super::ActionSink;
use crate::core::UiAction;
use crate::i18n::{text, Key};

pub(super) struct Composer {
    /// The `<form>`, a child of the window.
    pub(super) form: Element,
    input: HtmlTextAreaElement,
    send: Element,
    attach: Element,
}

impl Composer {
    /// Builds the form; what the visitor types, sends and attaches goes to `ui`.
    pub(super) fn mount(doc: &Document, ui: ActionSink) -> Option<Composer> {
        let form = el(doc, "form", "composer")?;
        let attach = el(doc, "button", "attach")?;
        attach.set_attribute("type", "button").ok()?;
        attach.set_inner_html(ICON_ATTACH);
        let picker: HtmlInputElement = el(doc, "input", "picker")?.dyn_into().ok()?;
        picker.set_type("file");
        picker.set_hidden(true);
        picker.set_tab_index(-1);
        form.append_child(&attach).ok()?;
        form.append_child(&picker).ok()?;
        let input: HtmlTextAreaElement = el(doc, "textarea", "input")?.dyn_into().ok()?;
        input.set_rows(1);
        let send = el(doc, "button", "send")?;
        send.set_attribute("type", "submit").ok()?;
        send.set_inner_html(ICON_SEND);
        form.append_child(&input).ok()?;
        form.append_child(&send).ok()?;

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
        Some(Composer { form, input, send, attach })
    }

    /// Labels in `lang`, the attach button only when files are `attachments` allowed, and
    /// the core's draft (written only when the textarea holds something else).
    pub(super) fn render(&self, lang: &str, attachments: bool, draft: &str) {
        set_attr(&self.input, "placeholder", text(lang, Key::MessagePlaceholder));
        set_attr(&self.input, "aria-label", text(lang, Key::MessageLabel));
        set_attr(&self.send, "aria-label", text(lang, Key::Send));
        set_attr(&self.attach, "aria-label", text(lang, Key::Attach));
        set_hidden(&self.attach, !attachments);
        if self.input.value() != draft {
            self.input.set_value(draft);
        }
    }

    pub(super) fn focus(&self) {
        let _ = self.input.focus();
    }
}

/// Files dropped anywhere on `window` are attached as if picked.
pub(super) fn accept_drops(window: &Element, ui: ActionSink) {
    on(window, "dragover", move |e| e.prevent_default());
    on(window, "drop", move |e| {
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
