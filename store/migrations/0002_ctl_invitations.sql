-- Invitations (issue 14.8): an admin no longer adds an existing account to
-- their organisation by name, nor learns whether a name exists. They mint a
-- one-time code (only its SHA-256 is stored); the invited person redeems it,
-- creating the account or proving with its password that it is theirs.
CREATE TABLE invitations (
	id TEXT PRIMARY KEY,
	org_id TEXT NOT NULL REFERENCES orgs(id),
	code_hash TEXT NOT NULL UNIQUE,
	username TEXT NOT NULL,
	display_name TEXT NOT NULL DEFAULT '',
	role TEXT NOT NULL CHECK (role IN ('viewer', 'editor', 'admin')),
	status TEXT NOT NULL CHECK (status IN ('Pending', 'Awaiting Approval', 'Accepted', 'Revoked')),
	invited_by TEXT NOT NULL,
	approved_by TEXT NOT NULL DEFAULT '',
	failures INTEGER NOT NULL DEFAULT 0,
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL,
	accepted_at BIGINT
);
CREATE INDEX invitations_org ON invitations(org_id, status);

-- Admin grants (issue 14.3): making someone an admin — promoting a member
-- or inviting with the admin role — by an org admin waits for a second,
-- different admin, so one admin cannot mint the second account that
-- maker-checker asks for. user_id names a member, invitation_id an
-- invitation; exactly one is set.
CREATE TABLE role_requests (
	id TEXT PRIMARY KEY,
	org_id TEXT NOT NULL REFERENCES orgs(id),
	user_id TEXT NOT NULL DEFAULT '',
	invitation_id TEXT NOT NULL DEFAULT '',
	username TEXT NOT NULL,
	role TEXT NOT NULL CHECK (role IN ('viewer', 'editor', 'admin')),
	status TEXT NOT NULL CHECK (status IN ('Pending', 'Approved', 'Rejected')),
	requested_by TEXT NOT NULL,
	decided_by TEXT NOT NULL DEFAULT '',
	comment TEXT NOT NULL DEFAULT '',
	created_at BIGINT NOT NULL,
	decided_at BIGINT
);
CREATE INDEX role_requests_org ON role_requests(org_id, status);
