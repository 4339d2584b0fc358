// The agent console: a small vanilla-JS app on the server's agent API (docs/agent-api.md).
// Everything that comes from visitors is put into the DOM as text (textContent), never as HTML.

const TOKEN_KEY = 'livechat-agent:token';
const FILTER_KEY = 'livechat-agent:filter';
const SEEN_KEY = 'livechat-agent:seen';
const SELECTED_KEY = 'livechat-agent:selected';
const STATUSES = ['OPEN', 'SOLVED', 'CLOSED'];

const $ = (id) => document.getElementById(id);
const ui = {
  signin: $('signin'), signinForm: $('signin-form'), token: $('token'), signinError: $('signin-error'),
  app: $('app'), conn: $('conn'), who: $('who'), signout: $('signout'),
  list: $('conv-list'), listEmpty: $('list-empty'), listCount: $('list-count'),
  placeholder: $('placeholder'), conversation: $('conversation'), back: $('back'),
  title: $('conv-title'), sub: $('conv-sub'), status: $('conv-status'), solve: $('solve'), close: $('close'),
  ctxList: $('ctx-list'), ctxEmpty: $('ctx-empty'), ctxUpdated: $('ctx-updated'), infoList: $('info-list'),
  messages: $('messages'), composer: $('composer'), reply: $('reply'), send: $('send'), replyError: $('reply-error'),
  announcer: $('announcer'),
};

const state = {
  token: null,
  agentName: null,
  filter: 'OPEN',
  /** id → Conversation (every conversation we know, whatever the filter). */
  conversations: new Map(),
  /** id → number of visitor messages not yet looked at. */
  unread: new Map(),
  /** id → created_at of the newest message the agent has seen. */
  seen: loadSeen(),
  selected: null,
  /** Messages of the selected conversation, by id (dedupes the POST response and its event). */
  messageIds: new Set(),
  metadata: null,
  ws: null,
  wsAttempt: 0,
  wsTimer: null,
  generation: 0,
};

// ----- small helpers ----------------------------------------------------------------------

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = v;
    else if (k in node && typeof v !== 'string') node[k] = v;
    else node.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c);
  return node;
}

function loadSeen() {
  try { return JSON.parse(sessionStorage.getItem(SEEN_KEY)) || {}; } catch { return {}; }
}
function saveSeen() {
  try { sessionStorage.setItem(SEEN_KEY, JSON.stringify(state.seen)); } catch { /* storage off */ }
}

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const dateFmt = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' });
const fullFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
const sameDay = (a, b) => a.toDateString() === b.toDateString();
function shortTime(ms) {
  const d = new Date(ms);
  return sameDay(d, new Date()) ? timeFmt.format(d) : dateFmt.format(d);
}
function timeEl(ms, fmt = shortTime) {
  return el('time', { datetime: new Date(ms).toISOString(), title: fullFmt.format(new Date(ms)), text: fmt(ms) });
}

function formatSize(n) {
  if (typeof n !== 'number') return '';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/** Only same-origin paths and http(s) URLs become links. */
function safeUrl(url) {
  if (typeof url !== 'string') return null;
  try {
    const u = new URL(url, location.href);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : null;
  } catch { return null; }
}

function displayName(conv) {
  const p = conv && conv.principal;
  if (p && p.customer && p.customer.subject) return p.customer.subject;
  const id = (p && p.id) || (conv && conv.id) || '';
  return `Visitor ${id.slice(0, 6)}`;
}

function previewText(m) {
  if (!m) return 'No messages yet';
  let t = m.text || '';
  if (!t && m.agent_message) t = m.agent_message;
  if (!t && m.attachment) t = `📎 ${m.attachment.file_name || 'attachment'}`;
  if (!t && m.custom) t = 'Custom data';
  const prefix = m.author === 'agent' ? (m.agent_name === state.agentName ? 'You: ' : `${m.agent_name || 'Agent'}: `) : '';
  return prefix + t.replace(/\s+/g, ' ').trim();
}

function valueText(v) {
  if (typeof v === 'string') return v;
  return JSON.stringify(v, null, 2);
}

let announceTimer = null;
function announce(text) {
  // A fresh node per announcement makes screen readers read it even if the text repeats.
  const line = el('p', { text });
  ui.announcer.append(line);
  while (ui.announcer.childNodes.length > 3) ui.announcer.firstChild.remove();
  clearTimeout(announceTimer);
  announceTimer = setTimeout(() => { ui.announcer.textContent = ''; }, 10000);
}

// ----- HTTP API -----------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, code, message) { super(message); this.status = status; this.code = code; }
}

async function api(method, path, body, token = state.token) {
  let res;
  try {
    res = await fetch(path, {
      method,
      headers: { Authorization: `Bearer ${token}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
      cache: 'no-store',
    });
  } catch (e) {
    throw new ApiError(0, 'network', 'The server cannot be reached.');
  }
  let json = null;
  try { json = await res.json(); } catch { /* empty or not JSON */ }
  if (!res.ok) {
    if (res.status === 401 && token === state.token && state.token) signOut('Your token was not accepted. Sign in again.');
    throw new ApiError(res.status, json && json.code, (json && json.message) || `HTTP ${res.status}`);
  }
  return json;
}
const conversationPath = (id, rest = '') => `/v1/conversations/${encodeURIComponent(id)}${rest}`;

// ----- sign in / out -----------------------------------------------------------------------

function showSignIn(error) {
  ui.app.hidden = true;
  ui.signin.hidden = false;
  ui.conn.hidden = true;
  ui.who.hidden = true;
  ui.signout.hidden = true;
  ui.signinError.hidden = !error;
  ui.signinError.textContent = error || '';
  ui.token.focus();
}

async function signIn(token, { fromStorage = false } = {}) {
  try {
    await api('GET', '/v1/conversations?limit=1', undefined, token);
  } catch (e) {
    if (fromStorage && e.status === 401) sessionStorage.removeItem(TOKEN_KEY);
    showSignIn(e.status === 401 ? 'This token was not accepted. Check the [[agents]] tokens in the server configuration.' : e.message);
    return;
  }
  state.token = token;
  try { sessionStorage.setItem(TOKEN_KEY, token); } catch { /* storage off */ }
  ui.signin.hidden = true;
  ui.app.hidden = false;
  ui.conn.hidden = false;
  ui.signout.hidden = false;
  ui.token.value = '';
  state.generation += 1;
  connect();
  await loadList();
  let previous = null;
  try { previous = sessionStorage.getItem(SELECTED_KEY); } catch { /* storage off */ }
  if (fromStorage && previous) {
    openConversation(previous, { keepFocus: true });
    return;
  }
  const first = ui.list.querySelector('.conv');
  if (!fromStorage && first) first.focus();
}

function signOut(message) {
  state.token = null;
  state.generation += 1;
  try { sessionStorage.removeItem(TOKEN_KEY); } catch { /* storage off */ }
  disconnect();
  state.conversations.clear();
  state.unread.clear();
  deselect();
  ui.list.replaceChildren();
  showSignIn(message);
}

ui.signinForm.addEventListener('submit', (e) => {
  e.preventDefault();
  const token = ui.token.value.trim();
  if (!token) { showSignIn('Enter an agent API token.'); return; }
  signIn(token);
});
ui.signout.addEventListener('click', () => signOut());

// ----- live event stream ----------------------------------------------------------------------

function setConn(s, text) {
  ui.conn.dataset.state = s;
  ui.conn.textContent = text;
}

function connect() {
  disconnect();
  const gen = state.generation;
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const ws = new WebSocket(`${proto}//${location.host}/v1/agent/events?token=${encodeURIComponent(state.token)}`);
  state.ws = ws;
  setConn(state.wsAttempt ? 'reconnecting' : 'connecting', state.wsAttempt ? 'Reconnecting…' : 'Connecting…');
  let ready = false;
  ws.onmessage = (e) => {
    if (gen !== state.generation) return;
    let ev;
    try { ev = JSON.parse(e.data); } catch { return; }
    if (ev.type === 'ready') {
      const resync = state.wsAttempt > 0;
      ready = true;
      state.wsAttempt = 0;
      state.agentName = ev.agent || null;
      ui.who.textContent = state.agentName ? `Signed in as ${state.agentName}` : '';
      ui.who.hidden = !state.agentName;
      setConn('live', 'Live');
      // The stream has no replay: re-read what may have changed while it was down.
      if (resync) resyncAll();
      return;
    }
    handleEvent(ev);
  };
  ws.onclose = () => {
    if (state.ws !== ws || gen !== state.generation) return;
    state.ws = null;
    if (!ready && state.wsAttempt >= 2) {
      // Refused upgrades look like this; check whether the token still works (401 → sign out).
      api('GET', '/v1/conversations?limit=1').catch(() => {});
    }
    scheduleReconnect();
  };
}

function scheduleReconnect() {
  if (!state.token) return;
  state.wsAttempt += 1;
  const base = Math.min(30000, 500 * 2 ** (state.wsAttempt - 1));
  const delay = Math.round(base / 2 + Math.random() * base / 2);
  setConn(state.wsAttempt > 1 ? 'offline' : 'reconnecting', `Reconnecting in ${Math.ceil(delay / 1000)} s…`);
  clearTimeout(state.wsTimer);
  state.wsTimer = setTimeout(() => { if (state.token) connect(); }, delay);
}

function disconnect() {
  clearTimeout(state.wsTimer);
  const ws = state.ws;
  state.ws = null;
  if (ws) { ws.onclose = null; ws.onmessage = null; try { ws.close(1000); } catch { /* already closed */ } }
  setConn('offline', 'Offline');
}

window.addEventListener('online', () => {
  if (state.token && !state.ws) { state.wsAttempt = Math.max(1, state.wsAttempt); clearTimeout(state.wsTimer); connect(); }
});

async function resyncAll() {
  await loadList();
  if (state.selected) await openConversation(state.selected, { keepFocus: true });
}

function handleEvent(ev) {
  switch (ev.type) {
    case 'thread_opened': {
      if (ev.conversation) upsertConversation(ev.conversation);
      renderList();
      break;
    }
    case 'message': onMessage(ev.thread_id, ev.message); break;
    case 'thread_status': {
      const c = state.conversations.get(ev.thread_id);
      if (c) { c.status = ev.status; renderList(); }
      else fetchConversation(ev.thread_id);
      if (ev.thread_id === state.selected) renderHeader();
      break;
    }
    case 'metadata_updated': {
      if (ev.thread_id === state.selected) {
        renderMetadata(ev.metadata || {}, { highlightFrom: state.metadata });
        const keys = Object.keys(ev.metadata || {}).length;
        announce(`Conversation context updated (${keys} ${keys === 1 ? 'item' : 'items'}).`);
      }
      break;
    }
    default: break;
  }
}

function onMessage(threadId, m) {
  if (!m) return;
  let c = state.conversations.get(threadId);
  if (!c) { fetchConversation(threadId); }
  else {
    if (!c.last_message || m.created_at >= (c.last_message.created_at || 0)) c.last_message = m;
    c.updated_at = Math.max(c.updated_at || 0, m.created_at || Date.now());
    if (!state.messageIds.has(m.id) || threadId !== state.selected) c.message_count = (c.message_count || 0) + 1;
    if (m.author === 'agent') c.unread_count = 0;
    else if (m.author === 'visitor') c.unread_count = (c.unread_count || 0) + 1;
  }
  const viewing = threadId === state.selected && !document.hidden;
  if (m.author === 'visitor') {
    if (!viewing) state.unread.set(threadId, (state.unread.get(threadId) || 0) + 1);
    const who = c ? displayName(c) : 'a visitor';
    const text = m.text || m.agent_message || (m.attachment ? `attachment ${m.attachment.file_name}` : '');
    announce(threadId === state.selected ? `${who}: ${text}` : `New message from ${who}: ${text}`);
  } else if (m.author === 'agent') {
    state.unread.delete(threadId);
  }
  if (threadId === state.selected) {
    appendMessage(m);
    if (viewing) markSeen(threadId, m.created_at);
  }
  renderList();
}

async function fetchConversation(id) {
  try {
    const { conversation } = await api('GET', conversationPath(id));
    upsertConversation(conversation);
    renderList();
    if (id === state.selected) renderHeader();
  } catch { /* gone or network: the next resync fixes it */ }
}

// ----- conversations list ---------------------------------------------------------------------

function upsertConversation(c) {
  state.conversations.set(c.id, c);
  const seenAt = state.seen[c.id];
  if (c.id !== state.selected && c.unread_count > 0 && (!seenAt || (c.last_message && c.last_message.created_at > seenAt))) {
    if (!state.unread.has(c.id)) state.unread.set(c.id, c.unread_count);
  } else if (!c.unread_count) {
    state.unread.delete(c.id);
  }
}

async function loadList() {
  const gen = state.generation;
  const q = state.filter === 'all' ? '' : `&status=${state.filter}`;
  let data;
  try {
    data = await api('GET', `/v1/conversations?limit=200${q}`);
  } catch (e) {
    if (gen === state.generation && state.token) {
      ui.listEmpty.hidden = false;
      ui.listEmpty.textContent = `Could not load conversations: ${e.message}`;
    }
    return;
  }
  if (gen !== state.generation) return;
  for (const c of data.conversations || []) upsertConversation(c);
  renderList();
}

function visibleConversations() {
  return [...state.conversations.values()]
    .filter((c) => state.filter === 'all' || c.status === state.filter)
    .sort((a, b) => (b.updated_at || 0) - (a.updated_at || 0));
}

function renderList() {
  const convs = visibleConversations();
  const focusedId = document.activeElement && document.activeElement.closest && document.activeElement.closest('.conv')
    ? document.activeElement.closest('.conv').dataset.id : null;
  const items = convs.map((c) => {
    const unread = state.unread.get(c.id) || 0;
    const selected = c.id === state.selected;
    const name = displayName(c);
    const btn = el('button', {
      type: 'button', class: `conv${unread ? ' unread' : ''}`, 'data-id': c.id, 'aria-current': selected ? 'true' : null,
    },
    el('span', { class: 'name', text: name }),
    el('span', { class: 'time' }, timeEl(c.updated_at || c.created_at)),
    el('span', { class: 'preview', text: previewText(c.last_message) }),
    el('span', { class: 'widget', text: `Widget ${c.widget_id}`, title: c.widget_id }),
    el('span', { class: 'badges' },
      unread ? el('span', { class: 'unread-badge' }, el('span', { 'aria-hidden': 'true', text: String(unread) }),
        el('span', { class: 'sr-only', text: `${unread} unread` })) : null,
      el('span', { class: 'status', 'data-status': c.status, text: c.status })));
    btn.addEventListener('click', () => openConversation(c.id));
    return el('li', {}, btn);
  });
  ui.list.replaceChildren(...items);
  ui.listEmpty.hidden = convs.length > 0;
  if (!convs.length) {
    ui.listEmpty.textContent = state.filter === 'all' ? 'No conversations yet. They appear here as visitors write.'
      : `No ${state.filter.toLowerCase()} conversations.`;
  }
  const totalUnread = convs.reduce((n, c) => n + (state.unread.get(c.id) || 0), 0);
  ui.listCount.textContent = `${convs.length}${totalUnread ? ` · ${totalUnread} unread` : ''}`;
  document.title = `${totalUnread ? `(${totalUnread}) ` : ''}Agent console — Live Chat`;
  if (focusedId) {
    const again = ui.list.querySelector(`.conv[data-id="${CSS.escape(focusedId)}"]`);
    if (again) again.focus();
  }
}

for (const input of document.querySelectorAll('input[name="status"]')) {
  input.addEventListener('change', () => {
    if (!input.checked) return;
    state.filter = input.value;
    try { sessionStorage.setItem(FILTER_KEY, state.filter); } catch { /* storage off */ }
    renderList();
    loadList();
  });
}

// Arrow keys move between conversations in the list.
ui.list.addEventListener('keydown', (e) => {
  if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp' && e.key !== 'Home' && e.key !== 'End') return;
  const buttons = [...ui.list.querySelectorAll('.conv')];
  const i = buttons.indexOf(document.activeElement);
  if (i < 0) return;
  e.preventDefault();
  const next = e.key === 'Home' ? 0 : e.key === 'End' ? buttons.length - 1 : i + (e.key === 'ArrowDown' ? 1 : -1);
  if (buttons[next]) buttons[next].focus();
});

// ----- one conversation -----------------------------------------------------------------------

function markSeen(id, at) {
  if (!at) return;
  if (!state.seen[id] || state.seen[id] < at) { state.seen[id] = at; saveSeen(); }
}

function deselect() {
  state.selected = null;
  try { sessionStorage.removeItem(SELECTED_KEY); } catch { /* storage off */ }
  state.metadata = null;
  state.messageIds.clear();
  ui.conversation.hidden = true;
  ui.placeholder.hidden = false;
  ui.app.classList.remove('has-selection');
}

async function openConversation(id, { keepFocus = false } = {}) {
  const switching = state.selected !== id;
  state.selected = id;
  try { sessionStorage.setItem(SELECTED_KEY, id); } catch { /* storage off */ }
  state.unread.delete(id);
  ui.app.classList.add('has-selection');
  ui.placeholder.hidden = true;
  ui.conversation.hidden = false;
  if (switching) {
    state.messageIds.clear();
    ui.messages.replaceChildren(el('li', { class: 'day', text: 'Loading…' }));
    renderMetadata({});
    ui.reply.value = '';
    ui.replyError.hidden = true;
  }
  renderHeader();
  renderList();
  const gen = state.generation;
  try {
    const [conv, msgs, meta] = await Promise.all([
      api('GET', conversationPath(id)),
      api('GET', conversationPath(id, '/messages')),
      api('GET', conversationPath(id, '/metadata')),
    ]);
    if (gen !== state.generation || state.selected !== id) return;
    upsertConversation(conv.conversation);
    state.unread.delete(id);
    state.messageIds.clear();
    ui.messages.replaceChildren();
    for (const m of msgs.messages || []) appendMessage(m, { scroll: false });
    if (!(msgs.messages || []).length) ui.messages.append(el('li', { class: 'day', text: 'No messages yet' }));
    ui.messages.scrollTop = ui.messages.scrollHeight;
    const last = (msgs.messages || []).at(-1);
    if (last) markSeen(id, last.created_at);
    renderMetadata(meta.metadata || {});
    renderHeader();
    renderList();
    if (switching && !keepFocus && !ui.reply.disabled && window.matchMedia('(min-width: 761px)').matches) ui.reply.focus();
  } catch (e) {
    if (state.selected !== id) return;
    if (e.status === 404) { deselect(); renderList(); return; }
    ui.messages.replaceChildren(el('li', { class: 'day', text: `Could not load this conversation: ${e.message}` }));
  }
}

ui.back.addEventListener('click', () => {
  const id = state.selected;
  deselect();
  renderList();
  const btn = id && ui.list.querySelector(`.conv[data-id="${CSS.escape(id)}"]`);
  if (btn) btn.focus();
});

function renderHeader() {
  const c = state.conversations.get(state.selected);
  if (!c) { ui.title.textContent = 'Conversation'; return; }
  ui.title.textContent = displayName(c);
  const kind = c.principal && c.principal.kind === 'customer' ? 'Signed-in customer' : 'Anonymous visitor';
  ui.sub.textContent = `${kind} · widget ${c.widget_id}`;
  ui.sub.title = c.widget_id;
  ui.status.dataset.status = c.status;
  ui.status.textContent = c.status;
  const open = c.status === 'OPEN';
  ui.solve.disabled = !open;
  ui.close.disabled = c.status === 'CLOSED';
  ui.reply.disabled = !open;
  ui.send.disabled = !open;
  ui.reply.placeholder = open ? 'Write a reply…' : `This conversation is ${c.status.toLowerCase()}; the visitor's next message opens a new one.`;
  renderInfo(c);
}

function renderInfo(c) {
  const rows = [
    ['Status', c.status],
    ['Visitor', displayName(c)],
    ['Type', c.principal && c.principal.kind === 'customer'
      ? `customer (${(c.principal.customer && c.principal.customer.subject_type) || 'id'})` : 'anonymous visitor'],
    ['Widget', c.widget_id],
    ['Started', fullFmt.format(new Date(c.created_at))],
    ['Last activity', fullFmt.format(new Date(c.updated_at || c.created_at))],
    ['Messages', String(c.message_count ?? '')],
    ['Conversation id', c.id],
  ];
  ui.infoList.replaceChildren(...rows.map(([k, v]) => el('div', {}, el('dt', { text: k }), el('dd', { text: v }))));
}

function renderMetadata(metadata, { highlightFrom = null } = {}) {
  const prev = highlightFrom || {};
  state.metadata = metadata;
  const entries = Object.entries(metadata).sort((a, b) => (b[1].updated_at || 0) - (a[1].updated_at || 0) || a[0].localeCompare(b[0]));
  ui.ctxEmpty.hidden = entries.length > 0;
  const newest = entries.reduce((n, [, v]) => Math.max(n, v.updated_at || 0), 0);
  ui.ctxUpdated.replaceChildren(...(newest ? ['updated ', timeEl(newest, (ms) => timeFmt.format(new Date(ms)))] : []));
  ui.ctxList.replaceChildren(...entries.map(([key, entry]) => {
    const value = entry && typeof entry === 'object' && 'value' in entry ? entry.value : entry;
    const isText = typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' || value === null;
    const changed = highlightFrom && (!prev[key] || prev[key].updated_at !== entry.updated_at);
    return el('div', { class: changed ? 'fresh' : null, 'data-key': key },
      el('dt', {}, el('span', { text: key }), entry.updated_at ? timeEl(entry.updated_at, (ms) => timeFmt.format(new Date(ms))) : null),
      el('dd', {}, isText ? String(value) : el('pre', { text: valueText(value) })));
  }));
}

function dayLabel(ms) {
  const d = new Date(ms);
  const today = new Date();
  const yesterday = new Date(Date.now() - 86400000);
  if (sameDay(d, today)) return 'Today';
  if (sameDay(d, yesterday)) return 'Yesterday';
  return new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' }).format(d);
}

let lastDay = null;
function appendMessage(m, { scroll = true } = {}) {
  if (!m || !m.id || state.messageIds.has(m.id)) return;
  if (state.messageIds.size === 0) { ui.messages.replaceChildren(); lastDay = null; }
  state.messageIds.add(m.id);
  const nearBottom = ui.messages.scrollHeight - ui.messages.scrollTop - ui.messages.clientHeight < 120;
  const day = dayLabel(m.created_at);
  if (day !== lastDay) { ui.messages.append(el('li', { class: 'day', text: day })); lastDay = day; }
  ui.messages.append(renderMessage(m));
  if (scroll && (nearBottom || m.author === 'agent')) ui.messages.scrollTop = ui.messages.scrollHeight;
}

function renderMessage(m) {
  const author = ['visitor', 'agent', 'system'].includes(m.author) ? m.author : 'system';
  const who = author === 'agent' ? (m.agent_name || 'Agent') : author === 'visitor' ? 'Visitor' : 'System';
  const bubble = el('div', { class: 'bubble' });
  if (m.text) bubble.append(el('span', { class: 'text', text: m.text }));
  if (m.custom || m.agent_message || m.custom_data !== undefined) {
    const box = el('div', { class: 'custom' }, el('div', { class: 'label', text: 'Custom data · agents only' }));
    if (m.agent_message) box.append(el('div', { class: 'agent-message', text: m.agent_message }));
    if (m.custom_data !== undefined) box.append(el('pre', { class: 'custom-data', text: valueText(m.custom_data) }));
    bubble.append(box);
  }
  if (m.attachment) bubble.append(renderAttachment(m.attachment));
  if (!bubble.childNodes.length) bubble.append(el('span', { class: 'text', text: '(empty message)' }));
  const meta = author === 'system' ? null : el('div', { class: 'meta' }, `${who} · `, timeEl(m.created_at, (ms) => timeFmt.format(new Date(ms))));
  return el('li', { class: `msg ${author}`, 'data-id': m.id, 'data-author': author },
    el('span', { class: 'sr-only', text: `${who}: ` }), meta, bubble);
}

const INLINE_IMAGES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'];
function renderAttachment(a) {
  const url = safeUrl(a.url);
  const name = a.file_name || 'attachment';
  const label = `${name}${a.size !== undefined ? ` (${formatSize(a.size)})` : ''}`;
  const box = el('div', { class: 'attachment-wrap' });
  const row = el('div', { class: 'attachment' }, el('span', { 'aria-hidden': 'true', text: '📎' }));
  row.append(url ? el('a', { href: url, download: name, rel: 'noopener noreferrer', text: label }) : el('span', { text: label }));
  box.append(row);
  if (url && INLINE_IMAGES.includes(a.content_type)) box.append(el('img', { src: url, alt: `Image: ${name}`, loading: 'lazy' }));
  return box;
}

// ----- reply, solve, close ----------------------------------------------------------------------

function showReplyError(text) {
  ui.replyError.textContent = text;
  ui.replyError.hidden = !text;
}

async function sendReply() {
  const id = state.selected;
  const text = ui.reply.value;
  if (!id || !text.trim() || ui.send.disabled) return;
  ui.send.disabled = true;
  showReplyError('');
  try {
    const { message } = await api('POST', conversationPath(id, '/messages'), { text });
    if (state.selected === id) {
      if (ui.reply.value === text) ui.reply.value = '';
      onMessage(id, message);
    }
  } catch (e) {
    if (e.code === 'thread_closed') {
      showReplyError('This conversation is no longer open; the reply was not sent.');
      fetchConversation(id);
    } else {
      showReplyError(`The reply was not sent: ${e.message}`);
    }
  } finally {
    const c = state.conversations.get(state.selected);
    ui.send.disabled = !c || c.status !== 'OPEN';
  }
}

ui.composer.addEventListener('submit', (e) => { e.preventDefault(); sendReply(); });
ui.reply.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && !e.altKey && !e.ctrlKey && !e.metaKey) {
    e.preventDefault();
    sendReply();
  }
});
ui.reply.addEventListener('input', () => {
  ui.reply.style.height = 'auto';
  ui.reply.style.height = `${Math.min(200, ui.reply.scrollHeight + 2)}px`;
});

async function setStatus(status) {
  const id = state.selected;
  if (!id) return;
  const button = status === 'SOLVED' ? ui.solve : ui.close;
  button.disabled = true;
  showReplyError('');
  try {
    const { conversation } = await api('POST', conversationPath(id, '/status'), { status });
    upsertConversation(conversation);
    announce(`Conversation marked ${status.toLowerCase()}.`);
  } catch (e) {
    showReplyError(`Could not change the status: ${e.message}`);
  }
  if (state.selected === id) renderHeader();
  renderList();
}
ui.solve.addEventListener('click', () => setStatus('SOLVED'));
ui.close.addEventListener('click', () => setStatus('CLOSED'));

document.addEventListener('visibilitychange', () => {
  if (!document.hidden && state.selected) {
    state.unread.delete(state.selected);
    const c = state.conversations.get(state.selected);
    if (c && c.last_message) markSeen(c.id, c.last_message.created_at);
    renderList();
  }
});

document.addEventListener('keydown', (e) => {
  if (e.key === 'Escape' && state.selected && window.matchMedia('(max-width: 760px)').matches) ui.back.click();
});

// ----- start -----------------------------------------------------------------------------------

(function start() {
  let filter = null;
  try { filter = sessionStorage.getItem(FILTER_KEY); } catch { /* storage off */ }
  state.filter = STATUSES.includes(filter) || filter === 'all' ? filter : 'OPEN';
  for (const input of document.querySelectorAll('input[name="status"]')) input.checked = input.value === state.filter;
  let token = null;
  try { token = sessionStorage.getItem(TOKEN_KEY); } catch { /* storage off */ }
  if (token) signIn(token, { fromStorage: true });
  else showSignIn();
}());
