// Package httpwrite holds the HTTP API blocks: the destinations http_write
// (Capillary and third-party APIs with OAuth), arya_call (Intouch user
// onboarding), webhook_write (any webhook with basic auth) and
// iris_ftp_audience_refresh, the Neo transformation steps neo_transformer
// and neo_transformer_v2, and the pull-from-API source http_read (read.go).
// The destinations are thin
// configurations of one machinery, in the shape of OpenTelemetry's
// exporterhelper: a plain sender (build request, send, parse response) wrapped
// by a shared rate limiter, a destination-wide "not before" gate for yielding
// codes, bounded concurrency and a retry policy.
//
// Behaviour that the Connect+ documentation leaves open, decided here:
//
//   - requestSplitPath is applied to each record's JSON value. A root
//     wildcard ($.*, $[*], $.[*]) over a record that is not an array selects
//     the record itself, because in Connect+ that wildcard split the batch
//     array into its records, which the engine already hands us one by one.
//     So `$` and `$.*` both mean "one request per record".
//   - In bulk mode the batch is one request: a JSON array of the records.
//     When the batch holds a single record whose value is an array (a JSLT
//     `[for (.) …]` over the whole batch), that array is sent as is.
//   - The bulk response is split with responseSplitPath and element i is the
//     result of request element i. When the split count differs from the
//     number of request elements, every record gets the HTTP-level outcome
//     (parsePathMap applied to the whole body, the HTTP status otherwise).
//   - In single (non-bulk) mode parsePathMap is applied to the whole response
//     (a one-element array answer is unwrapped first).
//   - A record fails at entity level when its element has a non-empty
//     "errors" array or the status_code path yields a code ≥ 400.
//   - Query parameters come from attributes named http.query.<name> (unit
//     attributes, then per-record attributes in single mode), because the
//     JSLT block that owns "Query parameters" publishes them that way.
//   - Yielding codes (429) do not consume maxRetries (Gen-1 retried them
//     "an unlimited number of times"); they have their own bound,
//     yieldRetries, so a destination that never recovers cannot hang a run.
package httpwrite

import (
	"github.com/connectplus/connectplus/block"
)

// Attribute names this package reads.
const (
	// AttrAttributionType and AttrAttributionCode are set by
	// convert_csv_to_json (attribution_type / attribution_code) and sent as
	// the request headers of the same name when non-empty.
	AttrAttributionType = "X-CAP-API-ATTRIBUTION-ENTITY-TYPE"
	AttrAttributionCode = "X-CAP-API-ATTRIBUTION-ENTITY-CODE"
	// QueryAttrPrefix marks attributes appended to the URL as query
	// parameters: http.query.source=INSTORE → ?source=INSTORE.
	QueryAttrPrefix = "http.query."
	// RequestIDHeader carries a per-request id (unit request.id + the first
	// record's sequence number) so API-side logs can be matched to ours.
	RequestIDHeader = "X-CAP-REQUEST-ID"
	// TokenHeader is Capillary's OAuth token header.
	TokenHeader = "X-CAP-API-OAUTH-TOKEN"
)

// Env.Options keys read in sandbox mode (connectplus run --sandbox).
const (
	OptSandboxKey    = "sandbox.clientKey"
	OptSandboxSecret = "sandbox.clientSecret"
)

// DefaultParsePathMap is the [R] default of http_write.
const DefaultParsePathMap = `{"status_code":"$.['errors'].*.code","error_message":"$.['errors'].*.message","entity_id":"$.Id"}`

var (
	fClientKey = block.Field{Key: "clientKey", Label: "Client Key", Type: block.TypeString, FromConfigs: true,
		Description: "OAuth client key (Extension Configuration). Required for authType oauth and basic (the Basic user name)."}
	fClientSecret = block.Field{Key: "clientSecret", Label: "Client Secret", Type: block.TypeString, Secret: true,
		Description: "OAuth client secret (secret Extension Configuration). Required for authType oauth and basic."}
	fAPIEndPoint = block.Field{Key: "apiEndPoint", Label: "API Endpoint", Type: block.TypeString, Required: true, SupportsExpressions: true,
		Example:     "/v2/transactions/bulk",
		Description: "Path relative to the API Base URL, e.g. /v2/transactions/bulk or /x/neo/<neo_dataflow_name>. $name is replaced by the attribute name (JSLT Attributes), e.g. /v2/customer/$userId; ${...} NiFi expressions are evaluated too. Do not append ?query: attributes http.query.<name> are appended as query parameters."}
	fAPIMethod = block.Field{Key: "apiMethod", Label: "API Method", Type: block.TypeEnum, Required: true, Default: "POST", Enum: []string{"POST", "PUT"},
		Description: "HTTP method."}
	fParseResponse = block.Field{Key: "parseResponse", Label: "Parse API Response", Type: block.TypeBool, Default: "true",
		Description: "Extract status_code, error_message and entity_id per record with the Parse Path Map. Set false for Neo APIs: then the HTTP status alone decides."}
	fAPIBaseURL = block.Field{Key: "apiBaseUrl", Label: "API Base URL", Type: block.TypeString, Required: true, Advanced: true, Default: "{intouch_url}",
		Description: "Base URL without a trailing /, e.g. https://eu.api.capillarytech.com. Replaced by the sandbox URL under connectplus run --sandbox."}
	fOAuthBaseURL = block.Field{Key: "oAuthBaseUrl", Label: "OAuth Base URL", Type: block.TypeString, Required: true, Advanced: true, Default: "{intouch_url}",
		Description: "Base URL for token generation; /v3/oauth/token/generate is appended unless the URL already ends with a token path."}
	fBulkSupport = block.Field{Key: "bulkSupport", Label: "Bulk Support", Type: block.TypeBool, Required: true, Advanced: true, Default: "true",
		Description: "true: the batch is sent as one JSON array (bulk APIs); false: each element selected by Request Split Path is its own request."}
	fRequestSplitPath = block.Field{Key: "requestSplitPath", Label: "Request Split Path", Type: block.TypeString, Required: true, Advanced: true, Default: "$.*",
		Description: "JSONPath applied to each record in single mode; every selected element is one request. $ and $.* both mean one request per record (a root wildcard over a non-array record selects the record)."}
	fResponseSplitPath = block.Field{Key: "responseSplitPath", Label: "Response Split Path", Type: block.TypeString, Required: true, Advanced: true, Default: "$.*",
		Description: "JSONPath (comma-separated list allowed) splitting a bulk response into per-record results, in request order, e.g. $.* or $.response[*]. When the count differs from the records sent, every record gets the HTTP-level outcome."}
	fParsePathMap = block.Field{Key: "parsePathMap", Label: "Parse Path Map", Type: block.TypeJSON, Required: true, Advanced: true, Default: DefaultParsePathMap,
		Example:     `{"status_code": "$.status.code", "error_message": "$.status.message", "entity_id": "$.customers.id"}`,
		Description: "JSON object: result column → JSONPath into each response element. status_code, error_message and entity_id feed the result file; other keys become extra columns."}
	fRecoverable = block.Field{Key: "recoverableErrorCodes", Label: "Recoverable Error Codes", Type: block.TypeList, Advanced: true, Default: "521,502,503,504",
		Description: "HTTP codes retried with exponential backoff and jitter, up to Max Retries (network errors and timeouts are retried too)."}
	fYielding = block.Field{Key: "yieldingErrorCodes", Label: "Yielding Error Codes", Type: block.TypeList, Advanced: true, Default: "429",
		Description: "HTTP codes that make the whole destination wait (Retry-After honoured) before retrying; they do not consume Max Retries."}
	fMaxRetries = block.Field{Key: "maxRetries", Label: "Max Retries", Type: block.TypeInt, Advanced: true, Default: "3", Min: block.Bound(0), Max: block.Bound(100),
		Description: "Retries after a recoverable code or network error; then the records fail with the last status (retry exhausted)."}
	fAdditionalHeaders = block.Field{Key: "additionalHeaders", Label: "Additional Headers", Type: block.TypeJSON, Advanced: true, SupportsExpressions: true, Lang: block.LangNiFiJSON,
		Example:     `{"X-CAP-BADGES-MIGRATION": "migration", "X-Cap-Id": "$userId"}`,
		Description: "JSON object of extra request headers; values may reference attributes ($name or ${name})."}
	fRate = block.Field{Key: "rate", Label: "Rate", Type: block.TypeInt, Required: true, Advanced: true, Default: "1000", Min: block.Bound(1),
		Description: "Requests per time period, shared by all workers of the block (retries count)."}
	fPeriod   = block.Field{Key: "period", Label: "Time Period", Type: block.TypeInt, Required: true, Advanced: true, Default: "1", Min: block.Bound(1)}
	fTimeUnit = block.Field{Key: "timeUnit", Label: "Time Unit", Type: block.TypeEnum, Required: true, Advanced: true, Default: "MINUTES", Enum: []string{"SECONDS", "MINUTES", "HOURS"}}

	// Connect+ additions (advanced).
	fConcurrency = block.Field{Key: "concurrency", Label: "Concurrency", Type: block.TypeInt, Advanced: true, Default: "4", Min: block.Bound(1), Max: block.Bound(64),
		Description: "Requests in flight at once for this block; results keep input order."}
	fConnectTimeout = block.Field{Key: "connectTimeout", Label: "Connect Timeout", Type: block.TypeString, Advanced: true, Default: "30s",
		Description: "TCP/TLS connect timeout: a Go duration (10s), seconds, or '30 secs'."}
	fResponseTimeout = block.Field{Key: "responseTimeout", Label: "Response Timeout", Type: block.TypeString, Advanced: true, Default: "60s",
		Description: "Time allowed for one attempt once connected (send the body, read the answer); a timeout is retried like a recoverable code."}
	fAuthType = block.Field{Key: "authType", Label: "Authentication", Type: block.TypeEnum, Advanced: true, Default: "oauth", Enum: []string{"oauth", "basic", "bearer", "none"},
		Description: "oauth: Capillary token from the OAuth Base URL (cached, shared, refreshed once on 401); basic: clientKey:clientSecret; bearer: a static Bearer Token; none."}
	fBearerToken = block.Field{Key: "bearerToken", Label: "Bearer Token", Type: block.TypeString, Advanced: true, Secret: true,
		Description: "Static token sent as Authorization: Bearer, for authType bearer."}
	fYieldRetries = block.Field{Key: "yieldRetries", Label: "Yield Retries", Type: block.TypeInt, Advanced: true, Default: "20", Min: block.Bound(0), Max: block.Bound(1000),
		Description: "How many yielding answers (429) one request may get before its records fail (retry exhausted)."}
	fRetryBackoff = block.Field{Key: "retryBackoff", Label: "Retry Backoff", Type: block.TypeString, Advanced: true, Default: "500ms",
		Description: "Base of the exponential backoff (full jitter) between retries."}
	fMaxRetryBackoff = block.Field{Key: "maxRetryBackoff", Label: "Max Retry Backoff", Type: block.TypeString, Advanced: true, Default: "30s",
		Description: "Upper bound of one backoff wait, and of a Retry-After the destination asks for."}
)

// Spec is http_write (spec §2.5.1).
var Spec = &block.Spec{
	Type: "http_write", Label: "API request", Class: block.ClassExecutor, Category: "Destination",
	Description: "Sends records to an HTTP API (Capillary, Neo or third party) with OAuth, rate limiting, retries and per-record response parsing. Delivered records are acknowledged and passed on success; failed ones leave on failure with status_code, error_message and entity_id.",
	LegacyTypes: []string{"intouch_transaction_v2", "retro_destination"},
	Input:       block.KindRecords, Output: block.KindRecords,
	Concurrency: 4,
	Fields: []block.Field{
		fClientKey, fClientSecret, fAPIEndPoint, fAPIMethod, fParseResponse,
		fAPIBaseURL, fOAuthBaseURL, fBulkSupport, fRequestSplitPath, fResponseSplitPath, fParsePathMap,
		fRecoverable, fYielding, fMaxRetries, fAdditionalHeaders, fRate, fPeriod, fTimeUnit,
		fConcurrency, fConnectTimeout, fResponseTimeout, fAuthType, fBearerToken,
		fYieldRetries, fRetryBackoff, fMaxRetryBackoff,
	},
	Check: checkHTTPWrite,
	New:   newHTTPWrite,
}

// AryaSpec is arya_call (spec §2.5.2): http_write without rate limiting, with
// its token from the Arya "Token URL".
var AryaSpec = &block.Spec{
	Type: "arya_call", Label: "Arya call", Class: block.ClassExecutor, Category: "Destination",
	Description: "Calls the Intouch user onboarding endpoint (e.g. /intouch-ui/api/v1/users) with retries and per-record response parsing; the token comes from the Token URL (aryaBaseUrl).",
	LegacyTypes: []string{"intouch_transaction_v2_1"},
	Input:       block.KindRecords, Output: block.KindRecords,
	Concurrency: 4,
	Fields: []block.Field{
		fAPIEndPoint, fAPIMethod, fParseResponse, fAPIBaseURL,
		{Key: "aryaBaseUrl", Label: "Token URL", Type: block.TypeString, Required: true, Default: "{intouch_url}",
			Description: "Base URL of the token service; /v3/oauth/token/generate is appended unless the URL already ends with a token path."},
		fBulkSupport, fRequestSplitPath, fResponseSplitPath, fParsePathMap,
		fRecoverable, fYielding, fMaxRetries, fAdditionalHeaders,
		fConcurrency, fConnectTimeout, fResponseTimeout,
		withAdvanced(fAuthType), withAdvanced(fClientKey), withAdvanced(fClientSecret), fBearerToken,
		fYieldRetries, fRetryBackoff, fMaxRetryBackoff,
	},
	Check: checkAuth,
	New:   newArya,
}

// WebhookSpec is webhook_write (spec §2.5.3). Its keys are the [R] ones,
// spaces included; camelCase aliases are accepted.
var WebhookSpec = &block.Spec{
	Type: "webhook_write", Label: "Webhook Write", Class: block.ClassExecutor, Category: "Destination",
	Description: "Calls any external webhook with basic auth support, rate limiting and retries. The body is the batch as a JSON array (or each record when Send Batch is false); the HTTP status decides each record's outcome.",
	Input:       block.KindRecords, Output: block.KindRecords,
	Concurrency: 4,
	Fields: []block.Field{
		{Key: "webhookEndpoint", Label: "Webhook Endpoint", Type: block.TypeString, Required: true, SupportsExpressions: true,
			Example: "https://hooks.example.com/connect/${filename}", Description: "Full URL; NiFi expressions and $name attribute references are evaluated per request."},
		{Key: "apiMethod", Label: "HTTP Method", Type: block.TypeEnum, Required: true, Default: "POST", Enum: []string{"POST", "PUT", "GET"},
			Description: "GET sends no body."},
		{Key: "AttributesToSend", Label: "Attributes to sent as headers", Type: block.TypeRegex, Default: ".*", Aliases: []string{"attributesToSend"},
			Description: "Regular expression; unit attributes whose names match are sent as request headers (names or values that are not valid in HTTP headers are skipped)."},
		fAdditionalHeaders,
		{Key: "Max Retry", Label: "Max Retry", Type: block.TypeInt, Advanced: true, Default: "10", Min: block.Bound(0), Max: block.Bound(100), Aliases: []string{"maxRetries"},
			Description: "Retries after a 5xx, an Extra Retry code or a network error."},
		{Key: "Extra Retry Error Codes", Label: "Extra Retry Error Codes", Type: block.TypeList, Advanced: true, Default: "429", Aliases: []string{"extraRetryErrorCodes"},
			Description: "Codes retried besides 5xx; 429 waits as Retry-After says and slows the whole destination."},
		{Key: "Extra no Retry Error Codes", Label: "Extra no Retry Error Codes", Type: block.TypeList, Advanced: true, Default: "400", Aliases: []string{"extraNoRetryErrorCodes"},
			Description: "Codes never retried, even 5xx ones."},
		{Key: "Read Timeout", Label: "Read Timeout", Type: block.TypeString, Advanced: true, Default: "30 secs", Aliases: []string{"readTimeout"}},
		{Key: "Connection Timeout", Label: "Connection Timeout", Type: block.TypeString, Advanced: true, Default: "30 secs", Aliases: []string{"connectionTimeout"}},
		{Key: "Rate", Label: "Number of Flowfiles", Type: block.TypeInt, Advanced: true, Default: "1000", Min: block.Bound(1), Aliases: []string{"rate"}},
		{Key: "Time Period", Label: "Time Period", Type: block.TypeInt, Advanced: true, Default: "1", Min: block.Bound(1), Aliases: []string{"period"}},
		{Key: "Time Unit", Label: "Time Unit", Type: block.TypeEnum, Advanced: true, Default: "MINUTES", Enum: []string{"SECONDS", "MINUTES", "HOURS"}, Aliases: []string{"timeUnit"}},
		{Key: "username", Label: "Username", Type: block.TypeString, FromConfigs: true, Description: "Basic auth user (optional)."},
		{Key: "password", Label: "Password", Type: block.TypeString, Secret: true, Description: "Basic auth password (secret Extension Configuration)."},
		{Key: "bulkSupport", Label: "Send Batch", Type: block.TypeBool, Advanced: true, Default: "true",
			Description: "true: one request per batch with a JSON array body; false: one request per record."},
		fConcurrency, fYieldRetries, fRetryBackoff, fMaxRetryBackoff,
	},
	New: newWebhook,
}

func withAdvanced(f block.Field) block.Field {
	f.Advanced = true
	return f
}

// Register adds http_write, arya_call, webhook_write, http_read,
// neo_transformer, neo_transformer_v2 and iris_ftp_audience_refresh to r.
func Register(r *block.Registry) {
	r.MustRegister(Spec, AryaSpec, WebhookSpec, ReadSpec, NeoSpec, NeoV2Spec, IrisSpec)
}
