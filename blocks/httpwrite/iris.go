package httpwrite

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/jsonv"
)

// IrisReloadPath is Iris's FTP audience reload endpoint.
const IrisReloadPath = "/v2/audience/ftp/reload"

// IrisSpec is iris_ftp_audience_refresh (spec §2.5.8): after the list's
// file is uploaded (template "Audience reload from SFTP": sftp_read →
// s3_write → this block), Iris is told to reload the Engage+ audience list
// from it. Iris authenticates with the org id (X_CAP_ORG) and a token
// header (X_CAP_CT), not OAuth.
var IrisSpec = &block.Spec{
	Type: "iris_ftp_audience_refresh", Label: "Iris Audience Refresh (FTP)", Class: block.ClassExecutor, Category: "Destination",
	LegacyTypes: []string{"destination_iris_audience", "Destination-Iris-audience"},
	Description: "Calls Iris's " + IrisReloadPath + " for each uploaded file so the Engage+ audience list of the same name reloads from it. The list must already exist in Audience Manager, named without spaces (FTP_Test, not FTP Test). " +
		"The request names the list (Audience Name, by default the folder the file was uploaded to, as Gen-1 named objects <audience_Group_Name>/${filename}) and the file; POST sends them as JSON, GET as query parameters. " +
		"5xx answers and network errors are retried; any other failure fails the file with Iris's message.",
	// Its output is the API call (spec §2.6): nothing follows it.
	Input: block.KindFile, Output: block.KindNone,
	Fields: []block.Field{
		{Key: "apiMethod", Label: "API Method", Type: block.TypeEnum, Required: true, Default: "POST", Enum: []string{"POST", "GET"}},
		{Key: "apiUrl", Label: "Remote API URL", Type: block.TypeString, Required: true, Default: "/", SupportsExpressions: true,
			Example:     IrisReloadPath,
			Description: IrisReloadPath + " (relative to the API Base URL), or a Gen-1 full cluster URL such as https://eucrm.cc.capillarytech.com/iris" + IrisReloadPath + ". The [R] default / means " + IrisReloadPath + "."},
		{Key: "orgIdHeader", Label: "X_CAP_ORG", Type: block.TypeString, Required: true, FromConfigs: true, Example: "100458",
			Description: "The org id, sent as the X_CAP_ORG header."},
		{Key: "capillaryToken", Label: "X_CAP_CT", Type: block.TypeString, FromConfigs: true,
			Description: "Sent as the X_CAP_CT header when set: an opaque token, optional in practice (\"If you do not have a token, enter any string\"; the Gen-2 form calls it the Capillary cluster identifier)."},
		{Key: "audienceName", Label: "Audience Name", Type: block.TypeString, Default: "${path:substringAfterLast('/')}", SupportsExpressions: true, Advanced: true,
			Description: "The Engage+ list to reload; NiFi EL over the uploaded file's attributes (filename, path, absolute.path)."},
		{Key: "apiBaseUrl", Label: "API Base URL", Type: block.TypeString, Required: true, Advanced: true, Default: "{intouch_url}",
			Description: "Base of a relative Remote API URL, e.g. https://eucrm.cc.capillarytech.com/iris; replaced by the sandbox URL under --sandbox."},
		withDefault(fMaxRetries, "3"), fConnectTimeout, fResponseTimeout, fYieldRetries, fRetryBackoff, fMaxRetryBackoff,
	},
	New: newIris,
}

type iris struct {
	name   string
	log    *slog.Logger
	s      *settings
	d      *destination
	target *textTemplate
	list   block.Expr
	org    string
	token  string
}

func newIris(c *block.Config, env *block.Env) (block.Block, error) {
	s := &settings{typ: "iris_ftp_audience_refresh", method: c.String("apiMethod")}
	s.sendBody = s.method == http.MethodPost
	s.maxRetries = c.Int("maxRetries", 3)
	for code := 500; code < 600; code++ {
		s.recoverable.add(code)
	}
	s.yielding.add(http.StatusTooManyRequests)
	errs := []error{s.tuning(c, "connectTimeout", "responseTimeout")}
	s.concurrency = 1
	base := resolvePlaceholders(c.String("apiBaseUrl"), env)
	if env.Sandbox != "" {
		base = env.Sandbox
	}
	s.sandbox = env.Sandbox
	raw := strings.TrimSpace(c.String("apiUrl"))
	if raw == "" || raw == "/" {
		raw = IrisReloadPath
	}
	if !strings.HasPrefix(raw, "http://") && !strings.HasPrefix(raw, "https://") {
		errs = append(errs, checkBaseURL("apiBaseUrl", base))
	}
	ep, err := compileText(raw, env)
	if err != nil {
		errs = append(errs, fmt.Errorf("apiUrl: %w", err))
	}
	s.endpoint = &urlTemplate{base: base, path: ep}
	list, err := c.Expr("audienceName")
	if err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &iris{name: env.Block, log: env.Log(), s: s, d: newDestination(s, env.Log(), env.Clock, env.Fence), list: list,
		org: strings.TrimSpace(c.String("orgIdHeader")), token: c.String("capillaryToken")}, nil
}

func (b *iris) Close() error {
	b.d.close()
	return nil
}

func (b *iris) Process(ctx context.Context, u *block.Unit, out block.Output) error {
	list, err := b.list.EvalString(u.Attrs)
	if err != nil {
		return fmt.Errorf("audienceName: %w", err)
	}
	list = strings.TrimSpace(list)
	if list == "" {
		return errors.New("audienceName is empty: name the Engage+ list (by default the folder the file was uploaded to)")
	}
	target, err := b.s.endpoint.eval(u.Attrs)
	if err != nil {
		return fmt.Errorf("apiUrl: %w", err)
	}
	if b.s.sandbox != "" {
		if target, err = rebase(target, b.s.sandbox); err != nil {
			return err
		}
	}
	params := [][2]string{{"audienceName", list}, {"fileName", u.Attrs[block.AttrFilename]}, {"filePath", u.Attrs[block.AttrAbsPath]}}
	// Header names are kept as Iris spells them (with underscores).
	h := http.Header{"Accept": {"application/json"}, "X_CAP_ORG": {b.org}}
	if b.token != "" {
		h["X_CAP_CT"] = []string{b.token}
	}
	req := &request{method: b.s.method, header: h, id: u.Attrs[block.AttrLineageID]}
	if b.s.sendBody {
		body := jsonv.NewObject(len(params))
		for _, p := range params {
			body.Set(p[0], p[1])
		}
		req.body = jsonv.Marshal(body)
		h.Set("Content-Type", "application/json")
		req.url = target
	} else {
		req.url = withQuery(target, params)
	}
	res, err := b.d.send(ctx, req)
	defer res.release()
	if err != nil {
		return err
	}
	if res.err != nil {
		return fmt.Errorf("audience reload of %q: %w", list, res.err)
	}
	if res.status/100 != 2 {
		return fmt.Errorf("audience reload of %q: %s", list, shortBody(res.bytes(), res.status))
	}
	b.log.Info("audience reload triggered", "audience", list, "file", u.Attrs[block.AttrFilename], "status", res.status)
	return nil
}
