-- A browser session remembers the organisation it was opened in (the login's
-- org, or the one the organisation switcher signed in to): without it every
-- request that carries no X-Connectplus-Org header fell back to the user's
-- first organisation, so a reload or a new tab showed the wrong one. Empty
-- means "the first membership" (sessions opened before this migration).
ALTER TABLE sessions ADD COLUMN org_id TEXT NOT NULL DEFAULT '';
