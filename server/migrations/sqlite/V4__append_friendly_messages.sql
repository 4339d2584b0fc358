-- Issue 11 §5 (V4): a message costs fewer B-tree pages.
-- messages: no UNIQUE(id). Its index took one random page per message and nothing reads a
-- message by id (they are read by thread, through messages_thread).
CREATE TABLE messages_v3(
  n INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL, thread_id TEXT NOT NULL,
  client_id TEXT, author TEXT NOT NULL, agent_name TEXT, text TEXT, agent_message TEXT,
  custom INTEGER NOT NULL DEFAULT 0, custom_data TEXT, attachment_id TEXT, created_at INTEGER NOT NULL);
INSERT INTO messages_v3(n, id, thread_id, client_id, author, agent_name, text, agent_message, custom, custom_data, attachment_id, created_at)
  SELECT n, id, thread_id, client_id, author, agent_name, text, agent_message, custom, custom_data, attachment_id, created_at FROM messages;
DROP TABLE messages;
ALTER TABLE messages_v3 RENAME TO messages;
CREATE INDEX messages_thread ON messages(thread_id, n);
-- events and requests: a message event, and a send's stored answer, refer to the message
-- row (message_n) instead of holding a second and third copy of its JSON (body / response
-- NULL then). Rows written before keep their JSON.
CREATE TABLE events_v3(
  principal_id TEXT NOT NULL, seq INTEGER NOT NULL, body TEXT, message_n INTEGER, created_at INTEGER NOT NULL,
  PRIMARY KEY(principal_id, seq)) WITHOUT ROWID;
INSERT INTO events_v3(principal_id, seq, body, created_at) SELECT principal_id, seq, body, created_at FROM events;
DROP TABLE events;
ALTER TABLE events_v3 RENAME TO events;
CREATE TABLE requests_v3(
  principal_id TEXT NOT NULL, req TEXT NOT NULL, kind TEXT NOT NULL, body_hash TEXT NOT NULL,
  response TEXT, message_n INTEGER, created_at INTEGER NOT NULL, PRIMARY KEY(principal_id, req)) WITHOUT ROWID;
INSERT INTO requests_v3(principal_id, req, kind, body_hash, response, created_at)
  SELECT principal_id, req, kind, body_hash, response, created_at FROM requests;
DROP TABLE requests;
ALTER TABLE requests_v3 RENAME TO requests;
