-- The owner of a shared block log (block.Journal.Round): a Kafka
-- partition's write-ahead log on an S3-backed cluster is written by the
-- consumer that owns the partition, whose owner epoch (the consumer
-- group generation) is kept here. Every round locks the row, so an older
-- owner's append is refused once a newer one took the log, and rounds of
-- one log never overlap. written_at is the database clock (milliseconds
-- since 1970) of the owner's last write (to within a second).
CREATE TABLE block_journal_owner (
	log TEXT PRIMARY KEY,
	epoch BIGINT NOT NULL,
	written_at BIGINT NOT NULL
);
