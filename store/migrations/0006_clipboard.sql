-- The personal dataflow store of copy/paste (spec §9.1, issue 24): a user's
-- copies of dataflow versions, pasted as a new Draft into any organisation
-- the user belongs to. A copy belongs to its user, not to an organisation:
-- it is read only by that user. The source columns are a record of where it
-- came from (names as they were then), not references, so deactivating or
-- renaming the source changes nothing. The document has the trigger, the
-- tags and any inline secret value removed. seq orders copies: newest first
-- is the highest seq, whatever the clock did.
CREATE TABLE clipboard (
	seq {{AUTOID}},
	id TEXT NOT NULL UNIQUE,
	user_id TEXT NOT NULL REFERENCES users(id),
	source_org_id TEXT NOT NULL,
	source_org_name TEXT NOT NULL DEFAULT '',
	source_flow_id TEXT NOT NULL,
	source_flow_name TEXT NOT NULL,
	source_version INTEGER NOT NULL,
	description TEXT NOT NULL,
	document TEXT NOT NULL,
	created_at BIGINT NOT NULL
);
CREATE INDEX clipboard_user ON clipboard(user_id, seq);
