-- The cluster node that ran (or last resumed) a file (issue 23): run
-- records say where the work happened. Empty on one server.
ALTER TABLE runs ADD COLUMN node TEXT NOT NULL DEFAULT '';
