package kafka

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/connectplus/connectplus/block"
)

// selfSigned returns a TLS config for 127.0.0.1 and its certificate in PEM.
func selfSigned(t *testing.T) (*tls.Config, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "kfake"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}},
		string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// startWriter builds kafka_topic_write from raw config and connects it.
func startWriter(t *testing.T, raw map[string]any, cfgs configs) error {
	t.Helper()
	raw["topics"], raw["kafkakey"] = "t", "k"
	c, probs := WriteSpec.ParseConfig(raw, cfgs)
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	b, err := WriteSpec.New(c, &block.Env{Block: "w"})
	if err != nil {
		return err
	}
	w := b.(*writer)
	defer w.Close()
	return w.Start(t.Context())
}

// TestSecurityProtocols connects with every SASL mechanism, over plain TCP
// and TLS, and checks that wrong credentials and an untrusted certificate
// fail with the reason.
func TestSecurityProtocols(t *testing.T) {
	tc, caPEM := selfSigned(t)
	for _, tls := range []bool{false, true} {
		opts := []kfake.Opt{kfake.EnableSASL(), kfake.Superuser("PLAIN", "plain-user", "plain-pw"),
			kfake.Superuser("SCRAM-SHA-256", "s256", "pw256"), kfake.Superuser("SCRAM-SHA-512", "s512", "pw512")}
		proto := ProtoSASLPlaintext
		if tls {
			opts = append(opts, kfake.TLS(tc))
			proto = ProtoSASLSSL
		}
		_, addr := cluster(t, opts...)
		for _, m := range []struct{ mech, user, pw string }{{MechPlain, "plain-user", "plain-pw"}, {MechSCRAM256, "s256", "pw256"}, {MechSCRAM512, "s512", "pw512"}} {
			raw := func(pw string) map[string]any {
				r := map[string]any{"brokers": addr, "securityProtocol": proto, "saslMechanism": m.mech,
					"saslUsername": m.user, "saslPassword": map[string]any{"$config": "kafka_pw"}}
				if tls {
					r["sslCaCertificate"] = caPEM
				}
				return r
			}
			if err := startWriter(t, raw(m.pw), configs{"kafka_pw": m.pw}); err != nil {
				t.Errorf("%s %s: %v", proto, m.mech, err)
			}
			if err := startWriter(t, raw("wrong"), configs{"kafka_pw": "wrong"}); err == nil {
				t.Errorf("%s %s: a wrong password connected", proto, m.mech)
			}
		}
	}
	// SSL without SASL; a certificate that is not trusted fails.
	_, addr := cluster(t, kfake.TLS(tc))
	if err := startWriter(t, map[string]any{"brokers": addr, "securityProtocol": ProtoSSL, "sslCaCertificate": caPEM}, nil); err != nil {
		t.Errorf("SSL: %v", err)
	}
	err := startWriter(t, map[string]any{"brokers": addr, "securityProtocol": ProtoSSL}, nil)
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("SSL with an untrusted certificate: %v", err)
	}
	if err := startWriter(t, map[string]any{"brokers": addr, "securityProtocol": ProtoSSL, "sslInsecure": "true"}, nil); err != nil {
		t.Errorf("SSL insecure: %v", err)
	}
}
