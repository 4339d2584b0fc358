//! Writes the language tables the wasm widget does not carry (`src/i18n.rs`) as
//! `<dir>/<tag>.txt`, for the widget to load when a visitor's language needs one.
//! Run by `scripts/build-widget.sh`: `cargo run --example i18n_tables -- dist/widget/i18n
//! pkg/labels.json`; the second file (optional) holds the launcher's label in every language
//! (`{"ar-AE":"…",…}`), which the build puts into the loader (`www/widget/livechat.js`).
#[cfg(target_arch = "wasm32")]
fn main() {} // a native tool: the wasm build has the en-US table only

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    use std::path::PathBuf;
    let dir = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "dist/widget/i18n".into()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut n = 0;
    for (tag, file) in livechat_widget::i18n::loadable_tables() {
        let path = dir.join(format!("{tag}.txt"));
        std::fs::write(&path, file).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        n += 1;
    }
    println!("wrote {n} language tables to {}", dir.display());
    if let Some(labels) = std::env::args().nth(2) {
        use livechat_widget::i18n::{text, Key};
        let map: serde_json::Map<String, serde_json::Value> = livechat_protocol::LANGUAGES
            .iter()
            .map(|tag| (tag.to_string(), text(tag, Key::OpenChat).into()))
            .collect();
        std::fs::write(&labels, serde_json::Value::Object(map).to_string()).unwrap_or_else(|e| panic!("{labels}: {e}"));
    }
}
