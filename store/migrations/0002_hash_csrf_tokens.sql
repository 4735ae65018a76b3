-- Sessions keep only the SHA-256 of their CSRF token, as they already do of
-- their cookie: a copy of the database must not be a way into live sessions.
-- Existing sessions hold raw tokens: they are ended (users log in again).
DELETE FROM sessions;
ALTER TABLE sessions RENAME COLUMN csrf_token TO csrf_hash;
