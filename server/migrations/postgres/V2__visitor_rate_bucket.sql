-- Each visitor's write bucket (send, contextual_data), in the row every write already locks
-- (SELECT ... FOR UPDATE), so the limit holds across the visitor's sockets on every node.
ALTER TABLE principals ADD COLUMN rate_tokens DOUBLE PRECISION, ADD COLUMN rate_at BIGINT;
