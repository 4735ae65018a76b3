package sandbox

import (
	"fmt"
	"net"
	"strconv"

	"github.com/twmb/franz-go/pkg/kfake"
)

// KafkaConfig configures the sandbox's in-process Kafka-compatible broker
// (github.com/twmb/franz-go/pkg/kfake): one broker, topics created on
// demand, no authentication, loopback only.
type KafkaConfig struct {
	// Addr is host:port to listen on; the host must be a loopback address
	// (port 0 picks a free port).
	Addr string
	// Partitions is the partition count of topics created on demand (3).
	Partitions int
	// DataDir, when set, keeps topics, offsets and groups across restarts.
	DataDir string
}

// Kafka is a running sandbox broker.
type Kafka struct {
	c    *kfake.Cluster
	addr string
}

// StartKafka starts the broker.
func StartKafka(cfg KafkaConfig) (*Kafka, error) {
	host, portS, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("kafka address %q: want host:port", cfg.Addr)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("kafka address %q: the sandbox broker listens on loopback only (127.0.0.1)", cfg.Addr)
	}
	port, err := strconv.Atoi(portS)
	if err != nil || port < 0 || port > 65535 {
		return nil, fmt.Errorf("kafka address %q: bad port", cfg.Addr)
	}
	parts := cfg.Partitions
	if parts <= 0 {
		parts = 3
	}
	opts := []kfake.Opt{kfake.NumBrokers(1), kfake.Ports(port), kfake.AllowAutoTopicCreation(),
		kfake.DefaultNumPartitions(parts), kfake.ClusterID("connectplus-sandbox")}
	if cfg.DataDir != "" {
		opts = append(opts, kfake.DataDir(cfg.DataDir))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return nil, fmt.Errorf("kafka sandbox: %w", err)
	}
	return &Kafka{c: c, addr: c.ListenAddrs()[0]}, nil
}

// Addr is the broker's host:port (the bootstrap server).
func (k *Kafka) Addr() string { return k.addr }

// Close stops the broker.
func (k *Kafka) Close() { k.c.Close() }
