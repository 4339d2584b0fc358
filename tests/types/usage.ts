// Compiled by the test run (`tsc -p tests/types`): every command of spec 001 with the
// argument and result types the declaration promises; misuse must not compile.
import type { LiveChatError } from '../../www/widget/livechat';

const log = (e: LiveChatError | null | undefined) => { if (e) console.log(e.code, e.message, e.reason); };

liveChat('init', '85ea1938-f457-496d-8532-8fa489beea63', (e, r) => { log(e); if (r) console.log(r.widgetId, r.language, r.online); });
liveChat('auth', 'header.payload.signature', (e, r) => { log(e); if (r) console.log(r.customer.subject, r.customer.subjectType); });
liveChat('logout', null, (e, r) => { log(e); if (r) console.log(r.cleared, r.loggedOut); });
liveChat('clear', '85ea1938-f457-496d-8532-8fa489beea63', (e, r) => { log(e); if (r) console.log(r.cleared); });
liveChat('clear');
liveChat('show', null, (e, r) => { log(e); if (r) console.log(r.open, r.launcher); });
liveChat('hide');
liveChat('show_launcher', null);
liveChat('hide_launcher');
liveChat('set_theme', 'dark');
liveChat('send', { type: 'BASIC', message: 'Hello! I need help with my order.' }, (e, r) => { log(e); if (r) console.log(r.messageId, r.threadId); });
liveChat('send', { type: 'BASIC', attachment: 'aGk=', fileName: 'hi.txt', threadId: 't1' });
liveChat('send', { type: 'DRAFT', message: 'Hi, I need help with my recent order number:' }, (e, r) => { if (r) console.log(r.draft); });
liveChat('send', { type: 'CUSTOM_DATA', customData: { orderId: 'ORD-6789', action: 'track_order' }, agentMessage: 'User requested tracking info for order ORD-6789.', userMessage: 'Track my order.' });
liveChat('send_contextual_data', { metadata: { color: 'green', size: 'M' }, multiThreadStrategy: 'ALL' }, (e, r) => { log(e); if (r) console.log(r.queued, r.threadIds); });
liveChat('send_contextual_data', { metadata: { seconds_since_last_cart_visit: 178 } });
liveChat('set_language', 'it-IT', (e, r) => { if (r) console.log(r.language, r.fallback); });
liveChat('set_language');
window.addEventListener('livechat:reauth_required', () => liveChat('auth', 'fresh.jwt.token'));

// @ts-expect-error: unknown command
liveChat('open');
// @ts-expect-error: DRAFT needs a message
liveChat('send', { type: 'DRAFT' });
// @ts-expect-error: unknown strategy
liveChat('send_contextual_data', { metadata: {}, multiThreadStrategy: 'SOME' });
// @ts-expect-error: set_theme needs a name
liveChat('set_theme', 42);
