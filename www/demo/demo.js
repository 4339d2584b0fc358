// The demo page's own code: drives the widget only through the public `liveChat` API.
const LANGUAGES = ['ar-AE','bs-BA','da-DK','de-DE','el-GR','en-US','es-ES','es-LA','fr-FR','hr-HR','hu-HU','it-IT',
  'ja-JP','ko-KR','lt-LT','lv-LV','pl-PL','pt-BR','pt-PT','ro-RO','ru-RU','sl-SI','sq-AL','sr-Latn','sv-SE','th-TH',
  'tr-TR','uk-UA','zh-Hans','zh-Hant','zh-TW'];
const WIDGET_ID = '85ea1938-f457-496d-8532-8fa489beea63';
const log = document.getElementById('log');

function report(command) {
  return (error, result) => {
    const line = document.createElement('div');
    line.textContent = `${new Date().toLocaleTimeString()} ${command} → ` +
      (error ? `error ${JSON.stringify(error)}` : `ok ${JSON.stringify(result)}`);
    log.prepend(line);
  };
}
const call = (command, arg) => window.liveChat(command, arg, report(command));

document.querySelectorAll('[data-cmd]').forEach((b) => b.addEventListener('click', () => call(b.dataset.cmd, null)));

const language = document.getElementById('language');
for (const tag of LANGUAGES) language.add(new Option(tag, tag, tag === 'en-US', tag === 'en-US'));
language.addEventListener('change', () => call('set_language', language.value));
const theme = document.getElementById('theme');
theme.addEventListener('change', () => call('set_theme', theme.value.split(' ')[0]));

const message = document.getElementById('message');
document.getElementById('send-basic').addEventListener('click', () => call('send', { type: 'BASIC', message: message.value }));
document.getElementById('send-draft').addEventListener('click', () => call('send', { type: 'DRAFT', message: message.value }));
document.getElementById('send-custom').addEventListener('click', () => call('send', {
  type: 'CUSTOM_DATA', customData: { orderId: 'ORD-6789', action: 'track_order' },
  agentMessage: 'User requested tracking info for order ORD-6789.', userMessage: 'Track my order.',
}));

document.getElementById('configurator').addEventListener('submit', (e) => {
  e.preventDefault();
  const metadata = Object.fromEntries(new FormData(e.target));
  call('send_contextual_data', { metadata, multiThreadStrategy: 'ACTIVE' });
});

let signedInAs = null;
async function signIn(email) {
  // The demo server mints a JWT (demo only); a real site signs it on its own backend.
  const res = await fetch('/demo/jwt', { method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ widget_id: WIDGET_ID, sub: email, stp: 'email' }) });
  if (!res.ok) return report('auth')({ code: 'demo_jwt', message: `HTTP ${res.status}` });
  const { jwt } = await res.json();
  window.liveChat('auth', jwt, (error, result) => {
    if (!error) signedInAs = email;
    report('auth')(error, result);
  });
}
document.getElementById('auth').addEventListener('click', () => signIn(document.getElementById('email').value));
// The session lives as long as its JWT (5 minutes for the demo's tokens): when the server
// asks for a fresh one, sign in again; messages typed meanwhile wait and then go out.
window.addEventListener('livechat:reauth_required', () => {
  report('livechat:reauth_required')(null, { signedInAs });
  if (signedInAs) signIn(signedInAs);
});
for (const cmd of ['logout', 'clear']) {
  document.querySelector(`[data-cmd="${cmd}"]`).addEventListener('click', () => { signedInAs = null; });
}
