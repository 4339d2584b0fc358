// The widget's entry script (loaded by the snippet as a module). It loads the wasm,
// then `boot` installs the real `liveChat` and replays the snippet's queue.
import init, { boot } from './livechat_widget.js';

const stub = window.liveChat;
if (!(stub && stub.loaded)) {
  const base = new URL('./', import.meta.url);
  init({ module_or_path: new URL('livechat_widget_bg.wasm', base) })
    .then(() => boot(base.origin))
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
