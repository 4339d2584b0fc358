-- The PostgreSQL schema: the SQLite schema's tables and keys, with a `n` column (bigserial)
-- where SQLite orders by rowid. Uniqueness that must hold across nodes is a key here:
-- sessions(token_hash), requests(principal_id, req), used_jtis(widget_id, jti), one
-- customer principal per (widget_id, subject_type, subject), events(principal_id, seq).
CREATE TABLE principals(
  id TEXT PRIMARY KEY, widget_id TEXT NOT NULL, kind TEXT NOT NULL,
  subject TEXT, subject_type TEXT, head_seq BIGINT NOT NULL DEFAULT 0, created_at BIGINT NOT NULL);
CREATE UNIQUE INDEX principals_customer ON principals(widget_id, subject_type, subject) WHERE kind = 'customer';
CREATE TABLE sessions(
  token_hash TEXT PRIMARY KEY, principal_id TEXT NOT NULL, widget_id TEXT NOT NULL,
  created_at BIGINT NOT NULL, last_used_at BIGINT NOT NULL, ended BOOLEAN NOT NULL DEFAULT FALSE,
  auth_expires_at BIGINT);
CREATE TABLE events(
  principal_id TEXT NOT NULL, seq BIGINT NOT NULL, body TEXT NOT NULL, created_at BIGINT NOT NULL,
  PRIMARY KEY(principal_id, seq));
CREATE TABLE threads(
  n BIGSERIAL UNIQUE, id TEXT PRIMARY KEY, widget_id TEXT NOT NULL, principal_id TEXT NOT NULL,
  status TEXT NOT NULL, created_at BIGINT NOT NULL, last_activity_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL);
CREATE INDEX threads_principal ON threads(principal_id, status);
CREATE INDEX threads_widget_status ON threads(widget_id, status, last_activity_at);
CREATE INDEX threads_updated ON threads(updated_at);
CREATE TABLE messages(
  n BIGSERIAL PRIMARY KEY, id TEXT NOT NULL UNIQUE, thread_id TEXT NOT NULL,
  client_id TEXT, author TEXT NOT NULL, agent_name TEXT, text TEXT, agent_message TEXT,
  custom BOOLEAN NOT NULL DEFAULT FALSE, custom_data TEXT, attachment_id TEXT, created_at BIGINT NOT NULL);
CREATE INDEX messages_thread ON messages(thread_id, n);
CREATE TABLE attachments(
  id TEXT PRIMARY KEY, file_name TEXT NOT NULL, content_type TEXT NOT NULL, size BIGINT NOT NULL,
  file TEXT, external_url TEXT, created_at BIGINT NOT NULL);
CREATE TABLE requests(
  principal_id TEXT NOT NULL, req TEXT NOT NULL, kind TEXT NOT NULL, body_hash TEXT NOT NULL,
  response TEXT NOT NULL, created_at BIGINT NOT NULL, PRIMARY KEY(principal_id, req));
CREATE TABLE thread_metadata(
  thread_id TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, updated_at BIGINT NOT NULL,
  PRIMARY KEY(thread_id, key));
CREATE TABLE pending_metadata(
  principal_id TEXT NOT NULL, sticky BOOLEAN NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
  updated_at BIGINT NOT NULL, PRIMARY KEY(principal_id, sticky, key));
CREATE TABLE used_jtis(
  widget_id TEXT NOT NULL, jti TEXT NOT NULL, exp BIGINT NOT NULL, PRIMARY KEY(widget_id, jti));
