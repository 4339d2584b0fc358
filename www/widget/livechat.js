// The widget's entry script (loaded by the snippet as a module). It starts the wasm
// download and the widget configuration request at once, in parallel with the JS glue,
// then `boot` installs the real `liveChat` and replays the snippet's queue.
const stub = window.liveChat;
if (!(stub && stub.loaded)) {
  const base = new URL('./', import.meta.url);
  const wasm = fetch(new URL('livechat_widget_bg.wasm', base));
  // The queued `init` names the widget: its configuration can load while the wasm compiles.
  const first = ((stub && stub.q) || []).find((a) => a[0] === 'init' && typeof a[1] === 'string');
  const config = first ? fetch(`${base.origin}/v1/widgets/${first[1]}/config`).catch(() => null) : null;
  import('./livechat_widget.js')
    // Instantiating and booting are separate tasks, so neither holds the page's main thread
    // for long (the first call into the wasm also compiles what it runs).
    .then((glue) => glue.default({ module_or_path: wasm }).then(() => new Promise((go) => setTimeout(go, 0))).then(() => {
      performance.mark('livechat:instantiated');
      glue.boot(base.origin, first ? first[1] : undefined, config, base.href);
      performance.mark('livechat:booted');
    }))
    .catch((err) => {
      const text = String(err && err.message || err);
      const csp = /unsafe-eval|Content Security Policy|CSP|wasm-eval/i.test(text);
      const message = csp
        ? "liveChat: this page's Content-Security-Policy blocks WebAssembly. Add 'wasm-unsafe-eval' to script-src (e.g. script-src 'self' 'wasm-unsafe-eval')."
        : 'liveChat: the widget failed to load: ' + text;
      console.error(message);
      // Answer every call (queued or later) with an error instead of leaving it hanging.
      const fail = (command, arg, callback) => {
        if (typeof callback === 'function') {
          try { callback({ code: 'load_failed', message }); } catch (e) { console.error(e); }
        }
      };
      const queued = (stub && stub.q) || [];
      window.liveChat = fail;
      queued.forEach((args) => fail(args[0], args[1], args[2]));
    });
}
