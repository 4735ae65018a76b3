-- A large reconciliation's records are kept in the background (issue 20):
-- its row is visible at once with status 'saving', becomes 'finished'
-- once every record is stored, 'failed' if they could not be (the server
-- retries at its next start).
ALTER TABLE reconciliations ADD COLUMN status TEXT NOT NULL DEFAULT 'finished';
