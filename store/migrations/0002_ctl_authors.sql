-- Maker-checker by authorship (issue 14.2): everyone who saved any revision
-- of a version is one of its authors, and no author may approve it. The
-- submitter alone is not enough: an admin could save a document and have an
-- editor press Submit.
CREATE TABLE version_authors (
	version_id TEXT NOT NULL REFERENCES versions(id),
	username TEXT NOT NULL,
	PRIMARY KEY (version_id, username)
);

-- Versions written before this table existed: their creator, their last
-- writer and every saver the audit log names are authors. Over-counting only
-- asks for a different approver; under-counting would let an author approve.
INSERT INTO version_authors (version_id, username)
	SELECT id, created_by FROM versions WHERE created_by <> '';
INSERT INTO version_authors (version_id, username)
	SELECT id, updated_by FROM versions WHERE updated_by <> '' AND updated_by <> created_by;
INSERT INTO version_authors (version_id, username)
	SELECT DISTINCT a.object_id, a.actor FROM audit a JOIN versions v ON v.id = a.object_id
	WHERE a.object_type = 'version' AND a.action IN ('version.create', 'version.save')
	AND NOT EXISTS (SELECT 1 FROM version_authors va WHERE va.version_id = a.object_id AND va.username = a.actor);
