// The snippet as an external file (inline scripts are blocked by the page's CSP).
(function(w,d,u){w.liveChat=w.liveChat||function(){(w.liveChat.q=w.liveChat.q||[]).push(arguments)};
var s=d.createElement('script');s.type='module';s.async=true;s.src=u;d.head.appendChild(s)})
(window,document,'/widget/livechat.js');
window.__log = [];
liveChat('init', '85ea1938-f457-496d-8532-8fa489beea63', function (e, r) { window.__log.push({ name: 'init', error: e || null, result: r === undefined ? null : r }); });
liveChat('show', null, function (e, r) { window.__log.push({ name: 'show', error: e || null, result: r === undefined ? null : r }); });
