// Package sftp provides the SFTP/FTP/FTPS blocks: sftp_read, sftp_write and
// credential_aware_ftp_listing. Port 21 (or protocol=ftp, or an FTPS mode)
// selects FTP; otherwise SFTP over SSH with verified host keys. All file
// behaviour comes from blocks/filecore, shared with the local and S3
// connectors.
package sftp

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/blocks/filecore"
	"github.com/connectplus/connectplus/blocks/filecore/remote"
	"golang.org/x/crypto/ssh"
)

// Connection field keys: shared with every block that opens SFTP/FTP
// connections, so they live beside the connection code.
const (
	KeyHostname       = remote.KeyHostname
	KeyUsername       = remote.KeyUsername
	KeyPassword       = remote.KeyPassword
	KeyPort           = remote.KeyPort
	KeyPrivateKey     = remote.KeyPrivateKey
	KeyPassphrase     = remote.KeyPassphrase
	KeyKnownHosts     = remote.KeyKnownHosts
	KeyFingerprint    = remote.KeyFingerprint
	KeyInsecure       = remote.KeyInsecure
	KeyProtocol       = remote.KeyProtocol
	KeyFTPSMode       = remote.KeyFTPSMode
	KeyFTPSCA         = remote.KeyFTPSCA
	KeyFTPSInsecure   = remote.KeyFTPSInsecure
	KeyConnectTimeout = remote.KeyConnectTimeout
)

// OptKnownHostsFile is an Env option naming a known_hosts file used when a
// block sets neither knownHosts nor hostKeyFingerprint.
const OptKnownHostsFile = "ssh.knownHostsFile"

// connFields are the connection fields; keys override the spec's names for
// credential_aware_ftp_listing (host/user/pass).
func connFields(hostKey, userKey, passKey string, withKey bool) []block.Field {
	fs := []block.Field{
		{Key: hostKey, Label: "Hostname", Type: block.TypeString, Required: true, FromConfigs: true,
			Description: "SFTP or FTP server host name.", Example: "data.capillarydata.com"},
		{Key: userKey, Label: "Username", Type: block.TypeString, Required: true, FromConfigs: true, Example: "sftp_user"},
		{Key: passKey, Label: "Password", Type: block.TypeString, Secret: true,
			Description: "Password (an Extension Configuration marked secret). With key authentication set it to null: password and private key are mutually exclusive."},
		{Key: KeyPort, Label: "Port", Type: block.TypeInt, Required: true, Default: "22", Advanced: true, Min: block.Bound(1), Max: block.Bound(65535),
			Description: "22 for SFTP; 21 selects FTP."},
	}
	if withKey {
		fs = append(fs,
			block.Field{Key: KeyPrivateKey, Label: "Private key", Type: block.TypeText, Secret: true, Advanced: true,
				Description: "OpenSSH private key: PEM text including the -----BEGIN/END ... PRIVATE KEY----- lines, its Base64 encoding (as Connect+ stores it), or an absolute path to a key file. Excludes password."},
			block.Field{Key: KeyPassphrase, Label: "Key passphrase", Type: block.TypeString, Secret: true, Advanced: true,
				Description: "Passphrase of the private key; null when it has none."},
		)
	}
	fs = append(fs,
		block.Field{Key: KeyKnownHosts, Label: "Known hosts", Type: block.TypeText, Advanced: true, FromConfigs: true,
			Description: "known_hosts lines trusted for the SSH server (e.g. the output of ssh-keyscan). Connections to a host whose key is not listed fail with the key's fingerprint."},
		block.Field{Key: KeyFingerprint, Label: "Host key fingerprint", Type: block.TypeString, Advanced: true, FromConfigs: true,
			Description: "Pinned SHA256 fingerprint of the SSH host key (SHA256:...), as printed by ssh-keygen -lf or by the error for an unknown host.", Example: "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s"},
		block.Field{Key: KeyInsecure, Label: "Accept any host key (insecure)", Type: block.TypeBool, Default: "false", Advanced: true,
			Description: "Skip SSH host-key verification. Exposes credentials and data to a man-in-the-middle; every connection logs a warning."},
		block.Field{Key: KeyProtocol, Label: "Protocol", Type: block.TypeEnum, Default: remote.ProtoAuto, Enum: []string{remote.ProtoAuto, remote.ProtoSFTP, remote.ProtoFTP}, Advanced: true,
			Description: "auto: FTP on port 21 or when an FTPS mode is set, SFTP otherwise."},
		block.Field{Key: KeyFTPSMode, Label: "FTPS mode", Type: block.TypeEnum, Default: remote.FTPSNone, Enum: []string{remote.FTPSNone, remote.FTPSExplicit, remote.FTPSImplicit}, Advanced: true,
			Description: "TLS for FTP: explicit (AUTH TLS on the FTP port) or implicit (TLS from the first byte, usually port 990)."},
		block.Field{Key: KeyFTPSCA, Label: "FTPS CA certificate", Type: block.TypeText, Advanced: true, FromConfigs: true,
			Description: "PEM certificate(s) trusted for the FTPS server, for private CAs and self-signed servers (system roots otherwise)."},
		block.Field{Key: KeyFTPSInsecure, Label: "Skip FTPS certificate check (insecure)", Type: block.TypeBool, Default: "false", Advanced: true,
			Description: "Do not verify the FTPS server certificate; every connection logs a warning."},
		block.Field{Key: KeyConnectTimeout, Label: "Connect timeout", Type: block.TypeString, Default: "30s", Advanced: true,
			Description: "Bound on connecting and logging in (Go duration or seconds)."},
	)
	return fs
}

// ReadSpec is sftp_read.
var ReadSpec = &block.Spec{
	Type:     "sftp_read",
	Label:    "SFTP (Read)",
	Class:    block.ClassSource,
	Category: "Source",
	Description: "Connects to an SFTP (or FTP/FTPS) server on schedule, picks up files whose name matches the regex once " +
		"they are completely uploaded, streams each downstream, then moves it to the processed directory (or the error " +
		"location when it failed as a whole) and writes the result file to the API error path.",
	LegacyTypes: []string{"sftp_pull", "sftp_pull_tracing", "sftp_pull_1", "fetch_sftp"},
	Input:       block.KindNone,
	Output:      block.KindFile,
	Fields:      append(connFields(KeyHostname, KeyUsername, KeyPassword, true), filecore.SourceFields()...),
	Check: func(c *block.Config) []block.Problem {
		probs := checkConn(c, KeyPassword, true)
		return append(probs, filecore.CheckSourceDirs(c)...)
	},
	LocalPaths: keyFile,
	New:        newRead,
}

// keyFile lists private_key_path when it names a key file on local disk.
func keyFile(c *block.Config) []block.LocalPath {
	if p, ok := remote.KeyPath(c.String(KeyPrivateKey)); ok {
		return []block.LocalPath{{Key: KeyPrivateKey, Path: p}}
	}
	return nil
}

// WriteSpec is sftp_write. Its output is the uploaded file (KindFile), so
// blocks may follow it.
var WriteSpec = &block.Spec{
	Type:     "sftp_write",
	Label:    "SFTP (Write)",
	Class:    block.ClassExecutor,
	Category: "Destination",
	Description: "Uploads files to an SFTP (or FTP/FTPS) server under a temporary name and renames them into place, so " +
		"readers never see a partial file, applying the conflict strategy when the name exists. Record input is written " +
		"as JSON Lines and published when the lineage completes.",
	LegacyTypes: []string{"ftp_push", "sftp_push", "sftp_push_hidden", "sftp_move", "put_file_to_sftp"},
	Input:       block.KindAny,
	Output:      block.KindFile,
	Fields:      append(connFields(KeyHostname, KeyUsername, KeyPassword, true), filecore.SinkFields()...),
	Check:       func(c *block.Config) []block.Problem { return checkConn(c, KeyPassword, true) },
	LocalPaths:  keyFile,
	New:         newWrite,
}

// Listing field keys (spec §2.2.5).
const (
	KeyListHost      = "host"
	KeyListUser      = "user"
	KeyListPass      = "pass"
	KeyListPath      = "path"
	KeyListFileName  = "fileName"
	KeyListProcessed = "processedPath"
)

// ListingSpec is credential_aware_ftp_listing: the reconciliation
// variant of sftp_read. It has no error path: every file, whatever its
// outcome, is moved to processedPath (a processedPath equal to path leaves
// files in place; this process then remembers them instead).
var ListingSpec = &block.Spec{
	Type:     "credential_aware_ftp_listing",
	Label:    "SFTP (Listing)",
	Class:    block.ClassSource,
	Category: "Source",
	Description: "Polls an SFTP/FTP server and fetches the files matching the pattern for reconciliation dataflows, then " +
		"moves them to the processed path. Will be removed in a future release (use sftp_read).",
	Deprecated: true,
	Input:      block.KindNone,
	Output:     block.KindFile,
	Fields: append(connFields(KeyListHost, KeyListUser, KeyListPass, false),
		block.Field{Key: KeyListPath, Label: "Source Directory", Type: block.TypeString, Required: true, FromConfigs: true},
		block.Field{Key: KeyListFileName, Label: "Filename Pattern", Type: block.TypeString, Required: true, Default: ".*.csv",
			Description: "Regular expression the whole file name must match (.*.csv or .*). A glob such as *.csv is accepted too."},
		block.Field{Key: KeyListProcessed, Label: "Processed Directory", Type: block.TypeString, Required: true, FromConfigs: true},
		block.Field{Key: filecore.KeyStabilityWait, Label: "Upload Stability Wait", Type: block.TypeString, Advanced: true,
			Description: "Wait between the two listings that prove a file is completely uploaded (default 2s)."},
	),
	Check: func(c *block.Config) []block.Problem {
		probs := checkConn(c, KeyListPass, false)
		if _, err := listingPattern(c.String(KeyListFileName)); err != nil {
			probs = append(probs, block.Problem{Path: KeyListFileName, Message: err.Error()})
		}
		if _, ref := c.Ref(KeyListPass); !c.Has(KeyListPass) && !ref {
			probs = append(probs, block.Problem{Path: KeyListPass, Message: "pass is required"})
		}
		return probs
	},
	New: newListing,
}

// Register adds the SFTP blocks.
func Register(r *block.Registry) { r.MustRegister(ReadSpec, WriteSpec, ListingSpec) }

// checkConn validates the connection fields.
func checkConn(c *block.Config, passKey string, withKey bool) []block.Problem {
	var probs []block.Problem
	hasPass := c.Has(passKey)
	_, passRef := c.Ref(passKey)
	hasKey := false
	if withKey {
		_, keyRef := c.Ref(KeyPrivateKey)
		hasKey = c.Has(KeyPrivateKey) || keyRef
		// A key file is not read here: validation does no I/O, and the file
		// is read through the local-path policy when the block is built.
		if v := c.String(KeyPrivateKey); c.Has(KeyPrivateKey) {
			if _, isPath := remote.KeyPath(v); !isPath {
				if _, err := remote.LoadKey(v, nil); err != nil {
					probs = append(probs, block.Problem{Path: KeyPrivateKey, Message: err.Error()})
				}
			}
		}
	}
	hasPass = hasPass || passRef
	switch {
	case hasPass && hasKey:
		probs = append(probs, block.Problem{Path: passKey, Message: "password and private key are mutually exclusive: with key authentication set the password to null"})
	case !hasPass && !hasKey && withKey:
		probs = append(probs, block.Problem{Path: passKey, Message: "set a password or a private key (private_key_path)"})
	}
	if v := strings.TrimSpace(c.String(KeyFingerprint)); v != "" && !strings.HasPrefix(v, "SHA256:") {
		probs = append(probs, block.Problem{Path: KeyFingerprint, Message: "hostKeyFingerprint must be a SHA256 fingerprint (SHA256:...), as ssh-keygen -lf prints it"})
	}
	if v := c.String(KeyKnownHosts); strings.TrimSpace(v) != "" {
		if _, _, _, _, _, err := ssh.ParseKnownHosts([]byte(v)); err != nil {
			probs = append(probs, block.Problem{Path: KeyKnownHosts, Message: "knownHosts: " + err.Error()})
		}
	}
	if hasKey && (&remote.Conn{Port: c.Int(KeyPort, 22), Protocol: c.String(KeyProtocol), FTPS: c.String(KeyFTPSMode)}).IsFTP() {
		probs = append(probs, block.Problem{Path: KeyPrivateKey, Message: "FTP has no key authentication: use a password, or SFTP"})
	}
	return probs
}

// buildConn reads every connection field.
func buildConn(c *block.Config, env *block.Env, hostKey, userKey, passKey string, withKey bool) (*remote.Conn, error) {
	conn := &remote.Conn{
		Host:         strings.TrimSpace(c.String(hostKey)),
		Port:         c.Int(KeyPort, 22),
		User:         c.String(userKey),
		Password:     c.String(passKey),
		KnownHosts:   c.String(KeyKnownHosts),
		Fingerprint:  c.String(KeyFingerprint),
		InsecureAny:  c.Bool(KeyInsecure),
		Protocol:     c.String(KeyProtocol),
		FTPS:         c.String(KeyFTPSMode),
		FTPSRootCAs:  []byte(c.String(KeyFTPSCA)),
		FTPSInsecure: c.Bool(KeyFTPSInsecure),
		Timeout:      c.Duration(KeyConnectTimeout, 30*time.Second),
		Log:          env.Log(),
	}
	if withKey {
		key, err := remote.LoadKey(c.String(KeyPrivateKey), env.LocalPaths)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", KeyPrivateKey, err)
		}
		conn.Key = key
		conn.Passphrase = c.String(KeyPassphrase)
	}
	if conn.KnownHosts == "" && conn.Fingerprint == "" && option(env, OptKnownHostsFile) != "" {
		b, err := os.ReadFile(env.Options[OptKnownHostsFile])
		if err != nil {
			return nil, fmt.Errorf("option %s: %w", OptKnownHostsFile, err)
		}
		conn.KnownHosts = string(b)
	}
	if conn.InsecureAny && !conn.IsFTP() {
		conn.Log.Warn("SECURITY WARNING: insecureAcceptAnyHostKey is set: SSH host keys will not be verified", "host", conn.Addr())
	}
	return conn, nil
}

func newPool(conn *remote.Conn, env *block.Env) *filecore.Pool {
	return filecore.NewPool(conn.Dial, filecore.RetryFrom(env), env.Log())
}

func newRead(c *block.Config, env *block.Env) (block.Block, error) {
	conn, err := buildConn(c, env, KeyHostname, KeyUsername, KeyPassword, true)
	if err != nil {
		return nil, err
	}
	cfg, err := filecore.SourceConfigFrom(c, env)
	if err != nil {
		return nil, err
	}
	return filecore.NewSource(newPool(conn, env), cfg, env), nil
}

func newWrite(c *block.Config, env *block.Env) (block.Block, error) {
	conn, err := buildConn(c, env, KeyHostname, KeyUsername, KeyPassword, true)
	if err != nil {
		return nil, err
	}
	cfg, err := filecore.SinkConfigFrom(c, env)
	if err != nil {
		return nil, err
	}
	return filecore.NewSink(newPool(conn, env), cfg, env)
}

// listingPattern compiles fileName: a Java regex, or a glob like the
// documentation's default "*.csv" (which is not a valid regex).
func listingPattern(v string) (*regexp.Regexp, error) {
	v = strings.TrimSpace(v)
	if re, err := block.CompileJavaRegexWhole(v); err == nil {
		return re, nil
	}
	if strings.ContainsAny(v, "*?") {
		glob := regexp.QuoteMeta(v)
		glob = strings.ReplaceAll(glob, `\*`, ".*")
		glob = strings.ReplaceAll(glob, `\?`, ".")
		return regexp.Compile("^(?:" + glob + ")$")
	}
	_, err := block.CompileJavaRegexWhole(v)
	return nil, fmt.Errorf("fileName is neither a regular expression nor a glob: %v", err)
}

func newListing(c *block.Config, env *block.Env) (block.Block, error) {
	conn, err := buildConn(c, env, KeyListHost, KeyListUser, KeyListPass, false)
	if err != nil {
		return nil, err
	}
	re, err := listingPattern(c.String(KeyListFileName))
	if err != nil {
		return nil, err
	}
	wait, err := filecore.StabilityWait(c, env)
	if err != nil {
		return nil, err
	}
	cfg := filecore.SourceConfig{
		Dir:           c.String(KeyListPath),
		Pattern:       re,
		ProcessedDir:  c.String(KeyListProcessed),
		Delimiter:     ",",
		ReportStatus:  "all",
		StabilityWait: wait,
		SpoolDir:      workDir(env),
	}
	return filecore.NewSource(newPool(conn, env), cfg, env), nil
}

func option(env *block.Env, k string) string {
	if env == nil {
		return ""
	}
	return env.Options[k]
}

func workDir(env *block.Env) string {
	if env == nil {
		return ""
	}
	return env.WorkDir
}

// The blocks connect at Start (so credential and host-key problems surface
// before the first poll) and release the connection at Close.
var (
	_ block.Starter = (*filecore.Source)(nil)
	_ block.Closer  = (*filecore.Source)(nil)
	_ block.Starter = (*filecore.Sink)(nil)
	_ block.Closer  = (*filecore.Sink)(nil)
)
