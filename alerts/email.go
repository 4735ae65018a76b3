package alerts

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/textproto"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// TLS modes of an SMTP relay.
const (
	TLSStartTLS = "starttls" // plain connection upgraded with STARTTLS (required)
	TLSImplicit = "tls"      // TLS from the first byte (SMTPS, port 465)
	TLSNone     = "none"     // no TLS: only for a relay on the same host
)

// SMTPConfig is a mail relay.
type SMTPConfig struct {
	Host     string
	Port     int
	TLS      string
	Username string
	Password string
	From     string
	// TLSConfig overrides the TLS settings (a private CA); channels with
	// their own relay inherit it, with their host as ServerName.
	TLSConfig *tls.Config
	// Timeout bounds connecting and each command (30 s).
	Timeout time.Duration
}

// sendMail submits msg to the relay with go-smtp: STARTTLS or implicit
// TLS as configured, then PLAIN authentication when a username is set
// (never over a connection without TLS, except to loopback).
func sendMail(ctx context.Context, cfg SMTPConfig, to []string, msg []byte) error {
	if cfg.Host == "" {
		return errors.New("no SMTP relay: configure the server's relay or the channel's own")
	}
	if cfg.From == "" {
		return errors.New("no From address for email")
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	port := cfg.Port
	if port == 0 {
		port = map[string]int{TLSImplicit: 465, TLSNone: 25}[cfg.TLS]
		if port == 0 {
			port = 587
		}
	}
	addr := net.JoinHostPort(cfg.Host, strconv.Itoa(port))
	tc := cfg.TLSConfig
	if tc == nil {
		tc = &tls.Config{ServerName: cfg.Host, MinVersion: tls.VersionTLS12}
	}
	d := &net.Dialer{Timeout: timeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("smtp: connect: %w", err)
	}
	var c *smtp.Client
	switch cfg.TLS {
	case TLSImplicit:
		tconn := tls.Client(conn, tc)
		if err := tconn.HandshakeContext(ctx); err != nil {
			conn.Close()
			return fmt.Errorf("smtp: TLS: %w", err)
		}
		c = smtp.NewClient(tconn)
	case TLSNone:
		c = smtp.NewClient(conn)
	default:
		if c, err = smtp.NewClientStartTLS(conn, tc); err != nil {
			conn.Close()
			return fmt.Errorf("smtp: STARTTLS: %w", err)
		}
	}
	defer c.Close()
	c.CommandTimeout, c.SubmissionTimeout = timeout, 2*timeout
	if cfg.Username != "" {
		_, isTLS := c.TLSConnectionState()
		if !isTLS && !isLoopback(cfg.Host) {
			return errors.New("smtp: refusing to send the password without TLS")
		}
		if err := c.Auth(sasl.NewPlainClient("", cfg.Username, cfg.Password)); err != nil {
			return fmt.Errorf("smtp: authentication: %w", err)
		}
	}
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		return fmt.Errorf("smtp: From: %w", err)
	}
	rcpts := make([]string, 0, len(to))
	for _, t := range to {
		a, err := mail.ParseAddress(t)
		if err != nil {
			return fmt.Errorf("smtp: recipient %q: %w", t, err)
		}
		rcpts = append(rcpts, a.Address)
	}
	if err := c.SendMail(from.Address, rcpts, bytes.NewReader(msg)); err != nil {
		return fmt.Errorf("smtp: send: %w", err)
	}
	return c.Quit()
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// emailFacts are the spec's alert email fields (§6.6), in order.
func emailFacts(n Notice) [][2]string {
	var out [][2]string
	add := func(k, v string) { out = append(out, [2]string{k, v}) }
	add("Dataflow", n.Dataflow)
	if r := n.Run; r != nil {
		add("File", r.File)
		add("Lineage ID", r.LineageID)
		add("Status", r.Status)
		add("Started", r.StartedLocal)
		add("Duration", (time.Duration(r.DurationMillis) * time.Millisecond).String())
		add("Avg. Processing Time", fmt.Sprintf("%.3f ms per record", r.AvgMillis))
		add("Total Records", strconv.FormatInt(r.Total, 10))
		add("Success", fmt.Sprintf("%d (%.1f%%)", r.Success, r.SuccessPct))
		add("Failure", fmt.Sprintf("%d (%.1f%%)", r.Failure, r.FailurePct))
		add("Retry Exhausted", fmt.Sprintf("%d (%.1f%%)", r.RetryExhausted, r.RetryPct))
		var b strings.Builder
		for i, d := range r.FailureDetails {
			if i > 0 {
				b.WriteString("; ")
			}
			fmt.Fprintf(&b, "%s %s: %d", d.Code, d.Category, d.Count)
		}
		if b.Len() == 0 {
			b.WriteString("none")
		}
		add("Failure Details", b.String())
	}
	add("View Dataflow in Connect+", n.DataflowURL)
	if n.Run != nil {
		add("View Run in Dev Console", n.Run.RunURL)
		ef := n.Run.ErrorFile
		if n.Run.ErrorFileURL != "" {
			ef = strings.TrimSpace(ef + " " + n.Run.ErrorFileURL)
		}
		add("Error file", ef)
	}
	if n.RuleName != "" {
		add("Alert", n.RuleName)
		add("Priority", n.Priority)
		add("Issue status", n.Status)
		add(n.Metric, formatValue(n.Value)+n.Unit+" over "+n.Window+" (threshold "+formatValue(n.Threshold)+n.Unit+")")
		if n.AcknowledgedBy != "" {
			add("Acknowledged by", n.AcknowledgedBy)
		}
		if n.CloseReason != "" {
			add("Closed", strings.TrimSpace(n.ClosedBy+" "+n.CloseReason))
		}
		add("Issue", n.IssueURL)
	}
	return out
}

var htmlMail = template.Must(template.New("mail").Parse(`<!doctype html><html><body style="font-family:sans-serif">
<h2>{{.Title}}</h2><p>{{.Description}}</p>
<table cellpadding="4" style="border-collapse:collapse">{{range .Facts}}<tr><th align="left" style="border-bottom:1px solid #ddd">{{index . 0}}</th><td style="border-bottom:1px solid #ddd">{{index . 1}}</td></tr>{{end}}</table>
{{if .Extra}}<pre>{{.Extra}}</pre>{{end}}
</body></html>`))

func headerSafe(s string) string { return strings.NewReplacer("\r", " ", "\n", " ").Replace(s) }

// buildEmail renders n as a MIME message: text and HTML alternatives and,
// with att, the attachment.
func buildEmail(from string, to []string, n Notice, att *Attachment, now time.Time) ([]byte, error) {
	return buildMessage(from, to, n.Title, n, textBody(n, ""), att, now)
}

func textBody(n Notice, extra string) string {
	var b strings.Builder
	b.WriteString(n.Description)
	b.WriteString("\n\n")
	for _, f := range emailFacts(n) {
		if f[1] != "" {
			fmt.Fprintf(&b, "%s: %s\n", f[0], f[1])
		}
	}
	if extra != "" {
		b.WriteString("\n" + extra)
	}
	return b.String()
}

func buildMessage(from string, to []string, subject string, n Notice, text string, att *Attachment, now time.Time) ([]byte, error) {
	var buf bytes.Buffer
	id := make([]byte, 12)
	_, _ = rand.Read(id)
	domain := "connectplus.local"
	if a, err := mail.ParseAddress(from); err == nil {
		if i := strings.LastIndexByte(a.Address, '@'); i >= 0 {
			domain = a.Address[i+1:]
		}
	}
	h := [][2]string{
		{"From", headerSafe(from)},
		{"To", headerSafe(strings.Join(to, ", "))},
		{"Subject", mime.QEncoding.Encode("utf-8", headerSafe(subject))},
		{"Date", now.Format(time.RFC1123Z)},
		{"Message-ID", "<" + hex.EncodeToString(id) + "@" + domain + ">"},
		{"MIME-Version", "1.0"},
		{"X-ConnectPlus-Event", headerSafe(n.Event)},
	}
	if n.IssueID != "" {
		h = append(h, [2]string{"X-ConnectPlus-Issue", headerSafe(n.IssueID)})
	}
	mixed := multipart.NewWriter(&buf)
	for _, kv := range h {
		fmt.Fprintf(&buf, "%s: %s\r\n", kv[0], kv[1])
	}
	fmt.Fprintf(&buf, "Content-Type: multipart/mixed; boundary=%q\r\n\r\n", mixed.Boundary())

	altHeader := textproto.MIMEHeader{}
	var alt bytes.Buffer
	aw := multipart.NewWriter(&alt)
	altHeader.Set("Content-Type", "multipart/alternative; boundary=\""+aw.Boundary()+"\"")
	for _, p := range []struct{ ctype, body string }{{"text/plain; charset=utf-8", text}, {"text/html; charset=utf-8", ""}} {
		body := p.body
		if strings.HasPrefix(p.ctype, "text/html") {
			var hb bytes.Buffer
			extra := ""
			if i := strings.Index(text, "\n\n--\n"); i >= 0 {
				extra = text[i+5:]
			}
			if err := htmlMail.Execute(&hb, map[string]any{"Title": n.Title, "Description": n.Description, "Facts": nonEmpty(emailFacts(n)), "Extra": extra}); err != nil {
				return nil, err
			}
			body = hb.String()
		}
		pw, err := aw.CreatePart(textproto.MIMEHeader{"Content-Type": {p.ctype}, "Content-Transfer-Encoding": {"quoted-printable"}})
		if err != nil {
			return nil, err
		}
		qw := quotedprintable.NewWriter(pw)
		if _, err := qw.Write([]byte(body)); err != nil {
			return nil, err
		}
		if err := qw.Close(); err != nil {
			return nil, err
		}
	}
	if err := aw.Close(); err != nil {
		return nil, err
	}
	pw, err := mixed.CreatePart(altHeader)
	if err != nil {
		return nil, err
	}
	if _, err := pw.Write(alt.Bytes()); err != nil {
		return nil, err
	}
	if att != nil {
		ah := textproto.MIMEHeader{}
		ah.Set("Content-Type", att.ContentType)
		ah.Set("Content-Transfer-Encoding", "base64")
		ah.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": att.Name}))
		pw, err := mixed.CreatePart(ah)
		if err != nil {
			return nil, err
		}
		enc := base64.StdEncoding.EncodeToString(att.Data)
		for len(enc) > 76 {
			if _, err := pw.Write([]byte(enc[:76] + "\r\n")); err != nil {
				return nil, err
			}
			enc = enc[76:]
		}
		if _, err := pw.Write([]byte(enc + "\r\n")); err != nil {
			return nil, err
		}
	}
	if err := mixed.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func nonEmpty(fs [][2]string) [][2]string {
	out := fs[:0:0]
	for _, f := range fs {
		if f[1] != "" {
			out = append(out, f)
		}
	}
	return out
}
