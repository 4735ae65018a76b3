package control

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/blocks/filecore/remote"
	"github.com/connectplus/connectplus/blocks/kafka"
	"github.com/connectplus/connectplus/dataflow"
)

// Warnings lists what is valid but insecure in a document: connections that
// skip host-key or certificate verification, and plain FTP logins that send
// credentials and data in clear (issue 14.12). They do not block submission
// — some partners offer nothing better — but validate, submit and every
// version read show them, so the approver sees them before approving
// instead of finding them in the runtime log afterwards. The checks go by
// the connection fields' keys, so every block that has those fields is
// covered.
func (s *Service) Warnings(doc *dataflow.Document) []dataflow.Problem {
	out := []dataflow.Problem{}
	for i, b := range doc.Blocks {
		spec, ok := s.reg.Lookup(b.Type)
		if !ok {
			continue
		}
		path := func(k string) string { return fmt.Sprintf("blocks[%d].config.%s", i, k) }
		if has(spec, remote.KeyInsecure) && truthy(b.Config[remote.KeyInsecure]) {
			out = append(out, dataflow.Problem{Path: path(remote.KeyInsecure),
				Message: "insecureAcceptAnyHostKey is true: the SSH host key is not verified, so a man-in-the-middle can read the credentials and the data; pin the key with hostKeyFingerprint or knownHosts"})
		}
		if has(spec, remote.KeyFTPSInsecure) && truthy(b.Config[remote.KeyFTPSInsecure]) {
			out = append(out, dataflow.Problem{Path: path(remote.KeyFTPSInsecure),
				Message: "ftpsInsecureSkipVerify is true: the FTPS server certificate is not verified, so a man-in-the-middle can read the credentials and the data; trust its CA with ftpsCaCertificate instead"})
		}
		if has(spec, remote.KeyProtocol) && plainFTP(spec, b.Config) && hasCredentials(spec, b.Config) {
			at := remote.KeyProtocol
			if _, set := b.Config[at]; !set {
				at = remote.KeyPort
			}
			out = append(out, dataflow.Problem{Path: path(at),
				Message: "plain FTP: the username, the password and the data cross the network in clear; use SFTP, or FTPS (ftpsMode explicit or implicit)"})
		}
		out = append(out, kafkaWarnings(spec, b.Config, path)...)
	}
	return out
}

// kafkaWarnings covers the Kafka blocks' own connection fields (a named
// connection's values are Extension Configurations, not in the document).
func kafkaWarnings(spec *block.Spec, cfg map[string]any, path func(string) string) []dataflow.Problem {
	if !has(spec, kafka.KeyProtocol) {
		return nil
	}
	var out []dataflow.Problem
	if truthy(cfg[kafka.KeyInsecure]) {
		out = append(out, dataflow.Problem{Path: path(kafka.KeyInsecure),
			Message: "sslInsecure is true: the Kafka brokers' certificates are not verified, so a man-in-the-middle can read the credentials and the messages; trust their CA with sslCaCertificate instead"})
	}
	proto, _ := value(spec, cfg, kafka.KeyProtocol).(string)
	mech, _ := value(spec, cfg, kafka.KeyMechanism).(string)
	if proto == kafka.ProtoSASLPlaintext && mech == kafka.MechPlain {
		out = append(out, dataflow.Problem{Path: path(kafka.KeyProtocol),
			Message: "SASL_PLAINTEXT with PLAIN: the Kafka password and the messages cross the network in clear; use SASL_SSL, or a SCRAM mechanism at least"})
	}
	return out
}

// DocumentWarnings is Warnings for a stored document's text (none when it
// does not parse: its problems say so).
func (s *Service) DocumentWarnings(text string) []dataflow.Problem {
	doc, _, err := s.DecodeDocument([]byte(text), FormatYAML)
	if err != nil {
		return []dataflow.Problem{}
	}
	return s.Warnings(doc)
}

func has(spec *block.Spec, key string) bool {
	_, ok := spec.Field(key)
	return ok
}

// value is a field's configured value, else its spec default.
func value(spec *block.Spec, cfg map[string]any, key string) any {
	if v, ok := cfg[key]; ok && v != nil {
		return v
	}
	if f, ok := spec.Field(key); ok && f.Default != "" {
		return f.Default
	}
	return nil
}

func truthy(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case string:
		return strings.EqualFold(strings.TrimSpace(x), "true")
	}
	return false
}

// plainFTP applies the runtime's own rule (remote.Conn.IsFTP) to the
// literal values; a port or protocol taken from an Extension Configuration
// cannot be judged here and counts as not FTP.
func plainFTP(spec *block.Spec, cfg map[string]any) bool {
	str := func(key string) (string, bool) {
		switch x := value(spec, cfg, key).(type) {
		case nil:
			return "", true
		case string:
			return x, true
		}
		return "", false
	}
	proto, ok1 := str(remote.KeyProtocol)
	mode, ok2 := str(remote.KeyFTPSMode)
	if !ok1 || !ok2 {
		return false
	}
	port := 22
	switch x := value(spec, cfg, remote.KeyPort).(type) {
	case float64:
		port = int(x)
	case int:
		port = x
	case int64:
		port = int(x)
	case string:
		if n, err := strconv.Atoi(strings.TrimSpace(x)); err == nil {
			port = n
		}
	}
	c := remote.Conn{Port: port, Protocol: proto, FTPS: mode}
	return c.IsFTP() && (mode == "" || mode == remote.FTPSNone)
}

// hasCredentials: a secret field or a user name is set (literal or
// reference).
func hasCredentials(spec *block.Spec, cfg map[string]any) bool {
	keys := make([]string, 0, len(cfg))
	for k := range cfg {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := cfg[k]
		if v == nil || v == "" || v == "null" {
			continue
		}
		f, ok := spec.Field(k)
		if ok && (f.Secret || k == remote.KeyUsername || k == "user") {
			return true
		}
	}
	return false
}
