-- Each visitor's write bucket (send, contextual_data), in the row every write already locks,
-- so the limit holds across the visitor's sockets on every node. NULL until the first write.
ALTER TABLE principals ADD COLUMN rate_tokens REAL;
ALTER TABLE principals ADD COLUMN rate_at INTEGER;
