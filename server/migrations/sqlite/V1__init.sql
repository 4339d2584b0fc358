-- The first schema (before refinery these versions were counted by PRAGMA user_version).
CREATE TABLE principals(
  id TEXT PRIMARY KEY, widget_id TEXT NOT NULL, kind TEXT NOT NULL,
  subject TEXT, subject_type TEXT, head_seq INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL);
CREATE UNIQUE INDEX principals_customer ON principals(widget_id, subject_type, subject) WHERE kind = 'customer';
CREATE TABLE sessions(
  token_hash TEXT PRIMARY KEY, principal_id TEXT NOT NULL, widget_id TEXT NOT NULL,
  created_at INTEGER NOT NULL, last_used_at INTEGER NOT NULL, ended INTEGER NOT NULL DEFAULT 0);
CREATE TABLE events(
  principal_id TEXT NOT NULL, seq INTEGER NOT NULL, body TEXT NOT NULL, created_at INTEGER NOT NULL,
  PRIMARY KEY(principal_id, seq)) WITHOUT ROWID;
CREATE TABLE threads(
  id TEXT PRIMARY KEY, widget_id TEXT NOT NULL, principal_id TEXT NOT NULL, status TEXT NOT NULL,
  created_at INTEGER NOT NULL, last_activity_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
CREATE INDEX threads_principal ON threads(principal_id, status);
CREATE INDEX threads_widget_status ON threads(widget_id, status, last_activity_at);
CREATE INDEX threads_updated ON threads(updated_at);
CREATE TABLE messages(
  n INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, thread_id TEXT NOT NULL,
  client_id TEXT, author TEXT NOT NULL, agent_name TEXT, text TEXT, agent_message TEXT,
  custom INTEGER NOT NULL DEFAULT 0, custom_data TEXT, attachment_id TEXT, created_at INTEGER NOT NULL);
CREATE INDEX messages_thread ON messages(thread_id, n);
CREATE TABLE attachments(
  id TEXT PRIMARY KEY, file_name TEXT NOT NULL, content_type TEXT NOT NULL, size INTEGER NOT NULL,
  file TEXT, external_url TEXT, created_at INTEGER NOT NULL);
CREATE TABLE requests(
  principal_id TEXT NOT NULL, req TEXT NOT NULL, kind TEXT NOT NULL, body_hash TEXT NOT NULL,
  response TEXT NOT NULL, created_at INTEGER NOT NULL, PRIMARY KEY(principal_id, req)) WITHOUT ROWID;
CREATE TABLE thread_metadata(
  thread_id TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, updated_at INTEGER NOT NULL,
  PRIMARY KEY(thread_id, key)) WITHOUT ROWID;
CREATE TABLE pending_metadata(
  principal_id TEXT NOT NULL, sticky INTEGER NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
  updated_at INTEGER NOT NULL, PRIMARY KEY(principal_id, sticky, key)) WITHOUT ROWID;
CREATE TABLE used_jtis(
  widget_id TEXT NOT NULL, jti TEXT NOT NULL, exp INTEGER NOT NULL, PRIMARY KEY(widget_id, jti)) WITHOUT ROWID;
