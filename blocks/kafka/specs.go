package kafka

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/dataflow"
)

// Field keys (spec §2.2.3, §2.2.4, §2.5.6, §2.5.7).
const (
	KeyTopics      = "topics"
	KeyKafkaTopics = "kafkaTopics"
	KeyGroupID     = "groupId"
	KeyHeader      = "Header"
	KeyTraceID     = "Unique Id for tracing"
	KeyKey         = "kafkakey"

	KeyWindow        = "windowDuration"
	KeyWindowRecords = "windowRecords"
	KeyBatch         = "batchSize"
	KeyFormat        = "messageFormat"
	KeyMaxBytes      = "maxMessageBytes"
	KeyDeadLetter    = "deadLetterTopic"
	KeyStartFrom     = "startFrom"
	KeyRevokeWait    = "revocationWait"
	KeyResultDir     = "resultDirectory"
	KeyFetchMaxBytes = "fetchMaxBytes"
	KeySession       = "sessionTimeout"

	KeyAcks        = "acks"
	KeyIdempotent  = "idempotent"
	KeyCompression = "compression"
	KeyLinger      = "lingerMs"
	KeyBatchBytes  = "batchMaxBytes"
	KeyTimeout     = "deliveryTimeout"
)

// DefaultTraceID is the documented "Unique Id for tracing" default (spec
// §9 decision 3: the Gen-2 page's, without the timestamp).
const DefaultTraceID = "${kafka.key}_${kafka.offset}_${kafka.partition}_${kafka.topic}"

// DefaultGroupID makes each dataflow its own consumer group.
const DefaultGroupID = "${neoDataflowId}"

// DefaultConnection is the connection the Connect+ blocks default to.
const DefaultConnection = "Event-notification-kafka"

// headerField is "Headers as Attribute"; the NiFi values .* and
// traceable_id of Gen-1 exports are accepted for All and Traceable Id.
func headerField(def string, required bool) block.Field {
	return block.Field{Key: KeyHeader, Label: "Headers as Attribute", Type: block.TypeEnum, Default: def, Required: required,
		Enum: []string{HeadersAll, HeadersTraceable, ".*", HeaderTraceable},
		Description: "All: every Kafka header becomes a record attribute (reading) or every attribute a header (writing); " +
			"Traceable Id: only the traceable_id header. Attributes can be used in NiFi expressions, filters and JSLT."}
}

func headerMode(v string) string {
	if v == HeadersAll || v == ".*" {
		return HeadersAll
	}
	return HeadersTraceable
}

// streamFields are the settings of a stream's lineages, back-pressure and
// poison messages, shared by both sources.
func streamFields() []block.Field {
	return []block.Field{
		{Key: KeyWindow, Label: "Lineage window", Type: block.TypeString, Advanced: true, Default: "10m",
			Description: "A stream's lineage (one run, one result file, its counts and alerts) covers this much time (Go duration, e.g. 10m, 1h) from its first message, or windowRecords messages if that comes first."},
		{Key: KeyWindowRecords, Label: "Lineage window records", Type: block.TypeInt, Advanced: true, Default: "0", Min: block.Bound(0),
			Description: "Close a lineage after this many messages (0: by time only)."},
		{Key: KeyBatch, Label: "Records per unit", Type: block.TypeInt, Advanced: true, Default: "500", Min: block.Bound(1), Max: block.Bound(100000),
			Description: "Most messages handed downstream at once (what a bulk API call receives)."},
		{Key: KeyFormat, Label: "Message format", Type: block.TypeEnum, Advanced: true, Default: FormatJSON, Enum: []string{FormatJSON, FormatText},
			Description: "json: each message body must be one JSON value, which becomes the record (invalid JSON fails the message with the parser's reason); text: the body is kept as a string."},
		{Key: KeyMaxBytes, Label: "Largest message", Type: block.TypeInt, Advanced: true, Default: "1048576", Min: block.Bound(1),
			Description: "Messages larger than this many bytes fail with the reason instead of being processed."},
		{Key: KeyDeadLetter, Label: "Dead-letter topic", Type: block.TypeString, Advanced: true,
			Description: "Poison messages (invalid JSON, oversize) are also copied here, with the reason in the connectplus.error header, before their position is committed. They never stall the partition either way."},
		{Key: KeyStartFrom, Label: "New group starts at", Type: block.TypeEnum, Advanced: true, Default: "earliest", Enum: []string{"earliest", "latest"},
			Description: "Where a consumer group with no committed position starts: the oldest message kept, or only new ones."},
		{Key: KeyRevokeWait, Label: "Rebalance wait", Type: block.TypeString, Advanced: true, Default: "20s",
			Description: "When a rebalance takes partitions away, records of them in flight get this long to end so their positions are committed; the rest are left to the new owner, which reads them again."},
		{Key: KeyResultDir, Label: "Result file directory", Type: block.TypeString, Advanced: true, FromConfigs: true,
			Description: "Local directory each lineage's result file is also written to (the server keeps every result file for download regardless)."},
		{Key: KeySession, Label: "Session timeout", Type: block.TypeString, Advanced: true, Default: "45s",
			Description: "How long the group waits for a member that stopped heartbeating (a crashed process) before its partitions move to the others; 6s to 5m on most brokers."},
		{Key: KeyFetchMaxBytes, Label: "Fetch size", Type: block.TypeInt, Advanced: true, Default: "1048576", Min: block.Bound(65536),
			Description: "Most bytes one fetch brings (compressed: decompressed batches can be several times larger); with one fetch buffered at a time it bounds the memory a slow destination can make the consumer hold."},
	}
}

func checkDuration(c *block.Config, key string) []block.Problem {
	v := strings.TrimSpace(c.String(key))
	if v == "" {
		return nil
	}
	if d := c.Duration(key, -1); d <= 0 {
		return []block.Problem{{Path: key, Message: fmt.Sprintf("%s must be a positive duration such as 30s or 10m, got %q", key, v)}}
	}
	return nil
}

func checkRead(topicsKey string) func(c *block.Config) []block.Problem {
	return func(c *block.Config) []block.Problem {
		var probs []block.Problem
		if len(c.List(topicsKey)) == 0 {
			probs = append(probs, block.Problem{Path: topicsKey, Message: "name at least one topic"})
		}
		probs = append(probs, checkConnFields(c)...)
		probs = append(probs, checkDuration(c, KeyWindow)...)
		probs = append(probs, checkDuration(c, KeyRevokeWait)...)
		probs = append(probs, checkDuration(c, KeySession)...)
		return probs
	}
}

func resultDirPath(c *block.Config) []block.LocalPath {
	if v := strings.TrimSpace(c.String(KeyResultDir)); v != "" {
		return []block.LocalPath{{Key: KeyResultDir, Path: v}}
	}
	return nil
}

// ReadSpec is kafka_topic_read.
var ReadSpec = &block.Spec{
	Type: "kafka_topic_read", Label: "Kafka (Read)", Class: block.ClassSource, Category: "Source",
	LegacyTypes: []string{"kafka_connect_to_source", "kafka_connect_to_source_tracing"},
	Description: "Consumes Kafka topics continuously in a consumer group. Each message is one record: its JSON body is the value, " +
		"kafka.topic, kafka.partition, kafka.offset, kafka.key, kafka.timestamp and the selected headers are attributes, and " +
		"the tracing expression is its request id. A partition's position is committed only after every message up to it ended " +
		"(delivered, filtered or failed with its reason), so delivery is at-least-once: after a crash the messages that ended " +
		"since the last commit are read again. A Live dataflow runs continuously; its lineage is a time window (or a number of " +
		"messages), so result files, counts and alerts work as for files. Pause stops fetching and keeps the group; Stop leaves it.",
	Input: block.KindNone, Output: block.KindRecords,
	Fields: append(append([]block.Field{
		{Key: KeyTopics, Label: "Kafka topics comma separated", Type: block.TypeList, Required: true, Aliases: []string{"topic", "Topic Name(s)"},
			Example: "transactions_topic", Description: "One or more existing topics."},
	}, connFields(DefaultConnection)...), append([]block.Field{
		{Key: KeyGroupID, Label: "Consumer Group Id", Type: block.TypeString, Advanced: true, Default: DefaultGroupID, SupportsExpressions: true,
			Aliases: []string{"group.id", "Consumer Group Id"}, Description: "${neoDataflowId} is the dataflow's id: each dataflow is its own group."},
		headerField(HeadersAll, false),
		{Key: KeyTraceID, Label: "Unique Id for tracing", Type: block.TypeString, Advanced: true, Default: DefaultTraceID, SupportsExpressions: true,
			Description: "NiFi expression over the message's attributes giving its request id (per-message trace id)."},
	}, streamFields()...)...),
	Check:      checkRead(KeyTopics),
	LocalPaths: resultDirPath,
	New: func(c *block.Config, env *block.Env) (block.Block, error) {
		return newRead("kafka_topic_read", KeyTopics, c, env)
	},
}

// EventReadSpec is event_notification_read: the same consumer on the
// event-notification topics (one per event type).
var EventReadSpec = &block.Spec{
	Type: "event_notification_read", Label: "Event notification (Read)", Class: block.ClassSource, Category: "Source",
	Description: "Reads Capillary event-notification events from their Kafka topics (one per event) before they reach webhook " +
		"consumers. Same semantics as kafka_topic_read: one record per event, at-least-once, windows as lineages.",
	Input: block.KindNone, Output: block.KindRecords,
	Fields: append(append([]block.Field{
		{Key: KeyKafkaTopics, Label: "Kafka Topics Comma Separated", Type: block.TypeList, Required: true,
			Example: "transactionAdded,customerUpdated", Description: "The events (topics) to read."},
		{Key: KeyGroupID, Label: "Consumer Group Id", Type: block.TypeString, Advanced: true, Default: DefaultGroupID, SupportsExpressions: true,
			Aliases: []string{"group.id"}},
		headerField(HeadersAll, false),
		{Key: KeyTraceID, Label: "Unique Id for tracing", Type: block.TypeString, Advanced: true, Default: DefaultTraceID, SupportsExpressions: true},
	}, connFields(DefaultConnection)...), streamFields()...),
	Check:      checkRead(KeyKafkaTopics),
	LocalPaths: resultDirPath,
	New: func(c *block.Config, env *block.Env) (block.Block, error) {
		return newRead("event_notification_read", KeyKafkaTopics, c, env)
	},
}

func producerFields() []block.Field {
	return []block.Field{
		{Key: KeyAcks, Label: "Acknowledgements", Type: block.TypeEnum, Advanced: true, Default: "all", Enum: []string{"all", "leader", "none"},
			Description: "all: a record is delivered once every in-sync replica has it (with the idempotent producer: no duplicates from retries); leader: once the partition leader has it; none: once sent (may be lost)."},
		{Key: KeyIdempotent, Label: "Idempotent producer", Type: block.TypeBool, Advanced: true, Default: "true",
			Description: "Retries cannot duplicate or reorder records. Only with acks=all: leader and none are never idempotent."},
		{Key: KeyCompression, Label: "Compression", Type: block.TypeEnum, Advanced: true, Default: "none", Enum: []string{"none", "gzip", "snappy", "lz4", "zstd"}},
		{Key: KeyLinger, Label: "Linger (ms)", Type: block.TypeInt, Advanced: true, Default: "5", Min: block.Bound(0), Max: block.Bound(60000),
			Description: "How long a partition's batch waits for more records before it is sent."},
		{Key: KeyBatchBytes, Label: "Batch size (bytes)", Type: block.TypeInt, Advanced: true, Default: "1048576", Min: block.Bound(1024), Max: block.Bound(1 << 30)},
		{Key: KeyTimeout, Label: "Delivery timeout", Type: block.TypeString, Advanced: true, Default: "2m",
			Description: "A record not acknowledged within this long (retries included) fails with the reason."},
	}
}

func checkWrite(c *block.Config) []block.Problem {
	probs := checkConnFields(c)
	return append(probs, checkDuration(c, KeyTimeout)...)
}

// WriteSpec is kafka_topic_write.
var WriteSpec = &block.Spec{
	Type: "kafka_topic_write", Label: "Kafka (Write)", Class: block.ClassExecutor, Category: "Destination",
	LegacyTypes: []string{"kafka_connect_to_destination"},
	Description: "Publishes each record as one Kafka message: the record's JSON as the value, the key from an expression, " +
		"attributes as headers. A record is delivered when the broker acknowledged it (acks=all and the idempotent producer by " +
		"default); a record the broker refused fails with the reason.",
	Input: block.KindRecords, Output: block.KindRecords, Concurrency: 4,
	Fields: append(append(connFields(DefaultConnection),
		block.Field{Key: KeyTopics, Label: "Kafka topic", Type: block.TypeString, Required: true, SupportsExpressions: true, Example: "transactions_topic",
			Description: "Use Event-notification-kafka for event-notification data and connectplus-kafka service for a custom topic created in Neo."},
		block.Field{Key: KeyKey, Label: "Kafka key", Type: block.TypeString, Required: true, SupportsExpressions: true, Example: "${customerId}",
			Description: "Message key, for partitioning: records with the same key keep their order."},
		headerField(HeadersTraceable, true),
	), producerFields()...),
	Check: checkWrite,
	New: func(c *block.Config, env *block.Env) (block.Block, error) {
		return newWrite("kafka_topic_write", KeyTopics, c, env)
	},
}

// EventWriteSpec is event_publish_kafka.
var EventWriteSpec = &block.Spec{
	Type: "event_publish_kafka", Label: "Kafka Event (Write)", Class: block.ClassExecutor, Category: "Destination",
	Description: "Event Publish to Kafka (Connect-to-destination): publishes each record as an event message, as kafka_topic_write does.",
	Input:       block.KindRecords, Output: block.KindRecords, Concurrency: 4,
	Fields: append(append(connFields(DefaultConnection),
		block.Field{Key: KeyKafkaTopics, Label: "Kafka Topic", Type: block.TypeString, Required: true, SupportsExpressions: true},
		block.Field{Key: KeyKey, Label: "Kafka key", Type: block.TypeString, Required: true, SupportsExpressions: true, Example: "${customerId}"},
		headerField(HeadersTraceable, true),
	), producerFields()...),
	Check: checkWrite,
	New: func(c *block.Config, env *block.Env) (block.Block, error) {
		return newWrite("event_publish_kafka", KeyKafkaTopics, c, env)
	},
}

// Register adds the Kafka blocks.
func Register(r *block.Registry) { r.MustRegister(ReadSpec, EventReadSpec, WriteSpec, EventWriteSpec) }

func newRead(typ, topicsKey string, c *block.Config, env *block.Env) (block.Block, error) {
	conn, err := resolveConn(c, env)
	if err != nil {
		return nil, err
	}
	groupT, err := env.CompileTemplate(c.String(KeyGroupID))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", KeyGroupID, err)
	}
	flowID, flowName := "", ""
	if env != nil {
		flowID, flowName = env.FlowID, env.Flow
	}
	if flowID == "" {
		flowID = flowName
	}
	group, err := groupT.Eval(block.Attributes{"neoDataflowId": flowID, "neoDataflowName": flowName})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", KeyGroupID, err)
	}
	if group = strings.TrimSpace(group); group == "" {
		return nil, fmt.Errorf("%s is empty", KeyGroupID)
	}
	trace, err := env.CompileTemplate(c.String(KeyTraceID))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", KeyTraceID, err)
	}
	cfg := readConfig{
		topics:        c.List(topicsKey),
		group:         group,
		headers:       headerMode(c.String(KeyHeader)),
		traceID:       trace,
		window:        c.Duration(KeyWindow, 10*time.Minute),
		windowRecords: c.Int(KeyWindowRecords, 0),
		batch:         c.Int(KeyBatch, 500),
		format:        c.String(KeyFormat),
		maxBytes:      c.Int(KeyMaxBytes, 1<<20),
		deadLetter:    strings.TrimSpace(c.String(KeyDeadLetter)),
		startAt:       c.String(KeyStartFrom),
		revokeWait:    c.Duration(KeyRevokeWait, 20*time.Second),
		resultDir:     strings.TrimSpace(c.String(KeyResultDir)),
		fetchMaxBytes: int32(c.Int(KeyFetchMaxBytes, 1<<20)),
		session:       c.Duration(KeySession, 45*time.Second),
	}
	if cfg.resultDir != "" && env != nil && env.LocalPaths != nil {
		if err := env.LocalPaths.Check(cfg.resultDir); err != nil {
			return nil, fmt.Errorf("%s: %w", KeyResultDir, err)
		}
	}
	return newReader(typ, cfg, conn, env), nil
}

func newWrite(typ, topicKey string, c *block.Config, env *block.Env) (block.Block, error) {
	conn, err := resolveConn(c, env)
	if err != nil {
		return nil, err
	}
	topic, err := env.CompileTemplate(c.String(topicKey))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", topicKey, err)
	}
	key, err := env.CompileTemplate(c.String(KeyKey))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", KeyKey, err)
	}
	name := typ
	if env != nil && env.Block != "" {
		name = env.Block
	}
	return &writer{typ: typ, name: name, conn: conn, env: env, cfg: writeConfig{
		topic: topic, key: key, headers: headerMode(c.String(KeyHeader)),
		acks: c.String(KeyAcks), idempotent: c.Bool(KeyIdempotent), compression: c.String(KeyCompression),
		linger: time.Duration(c.Int(KeyLinger, 5)) * time.Millisecond, batchBytes: int32(c.Int(KeyBatchBytes, 1<<20)),
		timeout: c.Duration(KeyTimeout, 2*time.Minute),
	}}, nil
}

// UsesKafka reports whether a dataflow has a Kafka block (run --sandbox
// then starts a sandbox broker for it).
func UsesKafka(doc *dataflow.Document) bool {
	for _, b := range doc.Blocks {
		for _, s := range []*block.Spec{ReadSpec, EventReadSpec, WriteSpec, EventWriteSpec} {
			if b.Type == s.Type || slices.Contains(s.LegacyTypes, b.Type) {
				return true
			}
		}
	}
	return false
}
