// The widget's entry script (loaded by the snippet as a module): all a first visit needs
// before the launcher is painted. It draws the launcher itself, from the widget's
// configuration (first visit) or from what the widget stored last time (returning visitor),
// and loads the widget (wasm + glue) only after that paint: when the browser is idle, when
// the visitor points at, focuses or clicks the launcher, on any later `liveChat` call, or
// at once when the page asked for more than `init`. The wasm view adopts the launcher (the
// same element and stylesheets). Every call waits in the snippet's queue, answered in order
// once the widget boots. See docs/architecture.md.
const stub = window.liveChat;
if (!(stub && (stub.loaded || stub.loader))) { // loaded twice: the first copy runs
  const base = new URL('./', import.meta.url);
  const queue = (stub && stub.q) || [];
  // Inserted by scripts/build-widget.sh: src/view/widget.css, and the launcher's label
  // ("Open chat") in each of the 31 languages of src/i18n.rs.
  const CSS = '__LIVECHAT_CSS__';
  const LABELS = '__LIVECHAT_LABELS__';
  const first = queue.find((a) => a[0] === 'init' && typeof a[1] === 'string');
  const id = first && first[1];
  const config = id ? fetch(`${base.origin}/v1/widgets/${id}/config`).catch(() => null) : null;
  // What the wasm view takes over: the stylesheets and, once drawn, the launcher.
  const handoff = {
    // IndexedDB for the outbox's large attachments (src/driver/blobs.rs): one transaction;
    // kind 0 reads, 1 writes `value` under the key, 2 deletes; resolves once committed.
    idb: (kind, keys, value) => new Promise((ok, no) => {
      const open = indexedDB.open('livechat', 1);
      open.onupgradeneeded = () => open.result.createObjectStore('attachments');
      open.onerror = no;
      open.onsuccess = () => {
        const db = open.result;
        const tx = db.transaction('attachments', kind ? 'readwrite' : 'readonly');
        const store = tx.objectStore('attachments');
        const asked = keys.map((k) => (kind === 1 ? store.put(value, k) : kind ? store.delete(k) : store.get(k)));
        tx.oncomplete = () => ok(asked.map((r) => r.result));
        tx.onerror = tx.onabort = no;
        db.close();
      };
    }),
  };
  let loading;
  // The glue and the wasm (named by content hash, `?v=`, by scripts/build-widget.sh).
  const files = ['./livechat_widget.js', 'livechat_widget_bg.wasm'];
  const load = () => {
    if (loading) return;
    loading = 1;
    start(0);
  };
  const start = (again) => {
    // A second try asks for both again under URLs no cache holds: after a deploy, this
    // loader (an older build's, run from the cache) may find one of its build's files
    // evicted and get the newer one, and a glue and a wasm of two builds refuse to
    // instantiate together; the server's current pair does.
    const url = (f) => (again ? f + (f.includes('?') ? '&' : '?') + 'again=1' : f);
    const wasm = fetch(new URL(url(files[1]), base));
    import(url(files[0]))
      // Instantiating and booting are separate tasks, so neither holds the page's main
      // thread for long (the first call into the wasm also compiles what it runs).
      .then((glue) => glue.default({ module_or_path: wasm }).then(() => new Promise((go) => setTimeout(go, 0))).then(() => {
        performance.mark('livechat:instantiated');
        handoff.booted = 1;
        glue.boot(base.origin, id, config, base.href, handoff);
        performance.mark('livechat:booted');
      }))
      .catch((err) => {
        const text = String(err && err.message || err);
        const csp = /unsafe-eval|Content Security Policy|CSP|wasm-eval/i.test(text);
        if (!again && !csp && !handoff.booted) return start(1);
        const message = csp
          ? "liveChat: this page's Content-Security-Policy blocks WebAssembly. Add 'wasm-unsafe-eval' to script-src (e.g. script-src 'self' 'wasm-unsafe-eval')."
          : 'liveChat: the widget failed to load: ' + text;
        console.error(message);
        if (handoff.host) handoff.host.remove();
        // Answer every call (queued or later) with an error instead of leaving it hanging.
        const fail = (command, arg, callback) => {
          if (typeof callback === 'function') {
            try { callback({ code: 'load_failed', message }); } catch (e) { console.error(e); }
          }
        };
        window.liveChat = fail;
        queue.splice(0).forEach((args) => fail(args[0], args[1], args[2]));
      });
  };
  // Calls made before the widget runs wait in the queue, in order, and start the load.
  window.liveChat = function () { queue.push(arguments); load(); };
  window.liveChat.q = queue;
  window.liveChat.loader = 1;

  try {
    handoff.sheets = [new CSSStyleSheet(), new CSSStyleSheet()]; // the widget's CSS, the theme
    handoff.sheets[0].replaceSync(CSS);
  } catch (e) {
    handoff.sheets = null; // no constructable stylesheets: the widget draws everything itself
  }
  // A custom property value from the configuration or storage, kept to what cannot end a
  // rule or open a url() (as the view's own check).
  const safe = (v) => typeof v === 'string' && v.length <= 1000 && !/[{}<>\\]|url\(/i.test(v);
  // Draws the launcher as the view would: `s` is what the view stored (`livechat:<id>:launcher`).
  const draw = (s) => {
    if (handoff.booted || handoff.host || !handoff.sheets || !s || s.hidden || !safe(s.vars)) return false;
    const el = (tag, cls) => { const e = document.createElement(tag); e.className = cls; return e; };
    const host = document.createElement('livechat-widget');
    host.id = 'livechat-widget';
    const shadow = host.attachShadow({ mode: 'open' });
    shadow.adoptedStyleSheets = handoff.sheets;
    handoff.sheets[1].replaceSync(`.lc{${s.vars}}`);
    const root = el('div', s.left ? 'lc left' : 'lc');
    root.lang = s.lang;
    root.dir = s.dir;
    root.setAttribute('data-theme', s.theme);
    const launcher = el('button', 'launcher');
    launcher.type = 'button';
    launcher.setAttribute('aria-controls', 'lc-window');
    launcher.setAttribute('aria-expanded', String(!!s.open));
    launcher.setAttribute('aria-label', s.label);
    // The view's icon (src/view/dom.rs ICON_CHAT): static markup, no stored text in it.
    launcher.innerHTML = '<svg aria-hidden="true" viewBox="0 0 24 24" width="28" height="28"><path fill="currentColor" d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z"/></svg>';
    const badge = el('span', 'badge');
    badge.setAttribute('aria-hidden', 'true');
    badge.hidden = !s.badge;
    badge.textContent = s.badge || '0';
    launcher.append(badge);
    root.append(launcher);
    shadow.append(root);
    launcher.addEventListener('click', () => {
      if (handoff.adopted) return;
      handoff.clicked = 1; // the window opens with the focus in it, as a click after boot would
      window.liveChat('show');
    });
    launcher.addEventListener('pointerenter', load);
    launcher.addEventListener('focus', load);
    Object.assign(handoff, { host, root, launcher, badge });
    document.body.append(host);
    return true;
  };
  // After the frame that paints the launcher: at once when more is needed, else when idle.
  const later = (now) => requestAnimationFrame(() => setTimeout(() => {
    if (now) load();
    else if (window.requestIdleCallback) requestIdleCallback(load, { timeout: 2000 });
    else setTimeout(load, 200);
  }, 0));
  // Only `init` (and calls that do not change the launcher) may wait for the idle load; a
  // page that calls `show`, `set_theme`… gets the widget at once, drawn by the wasm.
  const simple = queue.every((a) => ['init', 'auth', 'send', 'send_contextual_data'].includes(a[0]));
  const busy = queue.some((a) => a[0] !== 'init');
  let stored = null;
  let snapshot = null;
  try {
    stored = localStorage.getItem(`livechat:${id}`);
    snapshot = stored && JSON.parse(localStorage.getItem(`livechat:${id}:launcher`));
  } catch (e) { /* no storage, or unreadable: as a first visit */ }
  const ready = (f) => (document.body ? f() : addEventListener('DOMContentLoaded', f));
  if (!id || !simple || (stored && !(snapshot && snapshot.v === 1))) {
    load();
  } else if (stored) {
    // A returning visitor: the launcher as the widget left it, without waiting for anything.
    ready(() => (draw(snapshot) ? later(busy || snapshot.open) : load()));
  } else {
    // A first visit: the launcher in the visitor's language, with the widget's look from
    // the preset the server put in front of this script (snippet URL `?id=`, server
    // transport/loader.rs: no wait), else from the configuration. A configuration that
    // takes over 3 s (a hung request) is left to the widget, which bounds and retries it
    // (core/config_fetch.rs) and answers init either way.
    const preset = import.meta.lc;
    const look = (c) => {
      const tags = Object.keys(LABELS);
      const find = (t) => tags.find((l) => l.toLowerCase() === String(t).toLowerCase());
      // As core::language::resolve_default with no language chosen by the page.
      let lang;
      for (const b of navigator.languages || []) {
        lang = find(b) || tags.find((l) => l.split('-')[0] === b.split('-')[0]);
        if (lang) break;
      }
      lang = lang || find(c && c.default_language) || 'en-US';
      const drawn = c && typeof c.color === 'string' && draw({
        v: 1,
        lang: ({ 'es-LA': 'es-419', 'sr-Latn': 'sr-Latn-RS' })[lang] || lang,
        dir: lang === 'ar-AE' ? 'rtl' : 'ltr',
        theme: 'default',
        vars: safe(c.color) && !c.color.includes(';') ? `--lc-primary:${c.color};` : '',
        label: LABELS[lang],
      });
      if (drawn) later(busy);
      else load();
    };
    if (preset && preset.id === id) {
      // A page the configuration refuses for good (403 origin, 404 widget): the widget will
      // draw nothing, so neither does the loader, before or after its drawing. (An init that
      // fails otherwise, e.g. no configuration after its retries, removes it in the wasm.)
      let refused;
      config.then((r) => {
        if (r && (r.status === 403 || r.status === 404)) {
          refused = 1;
          if (handoff.host && !handoff.adopted) {
            handoff.host.remove();
            handoff.host = null;
          }
        }
      });
      ready(() => (refused ? load() : look(preset)));
    } else {
      Promise.race([config.then((r) => (r && r.ok ? r.clone().json() : null)), new Promise((go) => setTimeout(go, 3e3))]).then((c) => ready(() => look(c)), load);
    }
  }
}
