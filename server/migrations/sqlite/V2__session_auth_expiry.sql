-- An authenticated session lasts as long as the JWT that created it (NULL: no limit).
ALTER TABLE sessions ADD COLUMN auth_expires_at INTEGER;
