package sandbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"strconv"
	"strings"
)

// apiError is Capillary's error/warning item: {"status":false,"code":8084,"message":"..."}.
// Key carries the symbolic name from the Connect+ troubleshooting table when
// there is one (ERR_LOYALTY_DUPLICATE_BILL_NUMBER), which the numeric code
// alone does not identify: several errors share code 604 or 631.
type apiError struct {
	Status  bool   `json:"status"`
	Code    int    `json:"code"`
	Message string `json:"message"`
	Key     string `json:"key,omitempty"`
}

func errorf(code int, key, format string, args ...any) apiError {
	return apiError{Code: code, Key: key, Message: fmt.Sprintf(format, args...)}
}

// The error catalogue. Codes and texts come from Capillary's customer status
// codes and the Connect+ troubleshooting table (spec §6.8); where neither has
// an entry the generic 400 "Input is invalid" code is used with a precise text.
var (
	errCustDetails      = apiError{Code: 8084, Key: "CUST_DETAILS_NOT_PASSED", Message: "Customer details not sent"}
	errCustNotFound     = apiError{Code: 8015, Key: "CUSTOMER_NOT_FOUND", Message: "Customer not found for the given identifiers"}
	errInvalidSource    = apiError{Code: 8003, Key: "INVALID_SOURCE", Message: "Invalid source passed"}
	errNoSource         = apiError{Code: 8004, Key: "NO_SOURCE", Message: "Add failed, No source passed"}
	errNoIdentifiers    = apiError{Code: 8005, Key: "NO_VALID_IDENTIFIERS", Message: "Add failed, No valid identifiers passed"}
	errInvalidIdent     = apiError{Code: 8013, Key: "INVALID_IDENTIFIER", Message: "Invalid identifier passed"}
	errInvalidMobile    = apiError{Code: 1001, Key: "INVALID_MOBILE", Message: "Unable to register. Invalid mobile number."}
	errInvalidEmail     = apiError{Code: 1002, Key: "INVALID_EMAIL", Message: "Unable to register. Invalid email id."}
	errInvalidExternal  = apiError{Code: 1003, Key: "INVALID_EXTERNAL_ID", Message: "Unable to register. Invalid external id."}
	errBatchLimit       = apiError{Code: 1060, Key: "BATCH_LIMIT_EXCEEDED", Message: "Batch limit exceeded."}
	errInvalidTNC       = apiError{Code: 1062, Key: "INVALID_TNC_STATUS", Message: "Invalid Test & Control status."}
	errDuplicateBill    = apiError{Code: 604, Key: "ERR_LOYALTY_DUPLICATE_BILL_NUMBER", Message: "Duplicate bill number"}
	errBillNegative     = apiError{Code: 631, Key: "ERR_LOYALTY_BILL_AMOUNT_NEGATIVE", Message: "Transaction amount is negative"}
	errReturnNotExists  = apiError{Code: 631, Key: "ERR_RETURN_TXN_NOT_EXISTS", Message: "Return transaction does not exist"}
	errGrossNegative    = apiError{Code: 665, Key: "ERR_LOYALTY_BILL_GROSS_AMOUNT_NEGATIVE", Message: "Transaction gross amount is negative"}
	errDiscountNegative = apiError{Code: 666, Key: "ERR_LOYALTY_BILL_DISCOUNT_NEGATIVE", Message: "Transaction discount is negative"}
	errLineNegative     = apiError{Code: 661, Key: "ERR_LOYALTY_LINEITEM_AMOUNT_NEGATIVE", Message: "Line item amount is negative"}
	errEmptyRedemption  = apiError{Code: 661, Key: "EMPTY_REDEMPTION_ID", Message: "Coupon code (redemption id) not passed"}
	errCouponUsed       = apiError{Code: 604, Key: "MULTIPLE_REDEMPTION_FOR_USER_AND_COUPON_NOT_ALLOWED", Message: "Coupon already used"}
	errBarcodeIdent     = apiError{Code: 8122, Key: "BARCODE_IDENTIFIER_MISSING", Message: "Required Identifier missing for barcode generation"}
)

func invalid(format string, args ...any) apiError {
	return errorf(400, "INVALID_INPUT", format, args...)
}

// Sources accepted by the v2 APIs; case matters ("INSTORE", not "Instore"),
// as the troubleshooting guide warns.
var validSources = map[string]bool{
	"INSTORE": true, "WECHAT": true, "MARTJACK": true, "WEB_ENGAGE": true, "ECOMMERCE": true, "JD": true,
	"TAOBAO": true, "TMALL": true, "FACEBOOK": true, "WEBSITE": true, "OTHERS": true, "LINE": true,
	"MOBILE_APP": true, "ALL": false,
}

// Identifier names a customer can be registered with.
var customerIdentifierTypes = map[string]bool{
	"mobile": true, "email": true, "externalId": true, "cardnumber": true, "cardExternalId": true,
	"wechat": true, "martjackId": true, "fbId": true, "cuid": true, "unionId": true, "line": true,
}

// Identifier names usable to address an existing customer (transactions, lookups).
var lookupIdentifierTypes = map[string]bool{
	"mobile": true, "email": true, "externalId": true, "id": true, "cardnumber": true, "cardExternalId": true,
	"wechat": true, "martjackId": true, "fbId": true, "cuid": true, "unionId": true, "line": true,
}

func validMobile(v string) bool {
	v = strings.TrimPrefix(v, "+")
	if len(v) < 8 || len(v) > 15 {
		return false
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return false
		}
	}
	return true
}

func validEmail(v string) bool {
	at := strings.IndexByte(v, '@')
	if at <= 0 || at != strings.LastIndexByte(v, '@') || strings.ContainsAny(v, " \t") {
		return false
	}
	dom := v[at+1:]
	dot := strings.LastIndexByte(dom, '.')
	return dot > 0 && dot < len(dom)-1
}

// identifierError checks an identifier's value for its type when registering.
func identifierError(typ, value string) *apiError {
	var e apiError
	switch typ {
	case "mobile":
		if validMobile(value) {
			return nil
		}
		e = errInvalidMobile
	case "email":
		if validEmail(value) {
			return nil
		}
		e = errInvalidEmail
	case "externalId":
		if strings.TrimSpace(value) != "" {
			return nil
		}
		e = errInvalidExternal
	default:
		if strings.TrimSpace(value) != "" {
			return nil
		}
		e = errNoIdentifiers
	}
	return &e
}

// str is a JSON scalar read as text: strings as they are, numbers by their
// literal (so 919812345678 stays exactly that), null as absent. Objects,
// arrays and booleans are type errors, as in the real API's strict binding.
type str struct {
	V   string
	Set bool
}

func (s *str) UnmarshalJSON(b []byte) error {
	switch {
	case len(b) == 0 || string(b) == "null":
		return nil
	case b[0] == '"':
		if bytes.IndexByte(b, '\\') < 0 {
			s.V = string(b[1 : len(b)-1])
		} else if err := json.Unmarshal(b, &s.V); err != nil {
			return err
		}
	case b[0] == '-' || (b[0] >= '0' && b[0] <= '9'):
		s.V = string(b)
	default:
		return &json.UnmarshalTypeError{Value: jsonKind(b), Type: reflect.TypeFor[string]()}
	}
	s.Set = true
	return nil
}

// num is a JSON amount: a number or a numeric string ("6000.0", as the
// documented samples send). "" and null mean absent.
type num struct {
	V   float64
	Set bool
}

func (n *num) UnmarshalJSON(b []byte) error {
	switch {
	case len(b) == 0 || string(b) == "null":
		return nil
	case b[0] == '"':
		s := string(b[1 : len(b)-1])
		if bytes.IndexByte(b, '\\') >= 0 {
			if err := json.Unmarshal(b, &s); err != nil {
				return err
			}
		}
		s = strings.TrimSpace(s)
		if s == "" {
			return nil
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return &json.UnmarshalTypeError{Value: "string " + strconv.Quote(s), Type: reflect.TypeFor[float64]()}
		}
		n.V = v
	case b[0] == '-' || (b[0] >= '0' && b[0] <= '9'):
		v, err := strconv.ParseFloat(string(b), 64)
		if err != nil {
			return err
		}
		n.V = v
	default:
		return &json.UnmarshalTypeError{Value: jsonKind(b), Type: reflect.TypeFor[float64]()}
	}
	n.Set = true
	return nil
}

func jsonKind(b []byte) string {
	switch b[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "bool"
	case '"':
		return "string"
	}
	return "number"
}

// decodeError turns a json error for one entity into a per-entity API error.
func decodeError(err error) apiError {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := te.Field
		if field == "" {
			field = "body"
		}
		return invalid("Invalid value for %s: %s is not allowed, expected %s", field, te.Value, friendlyType(te.Type))
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return invalid("Malformed JSON at offset %d: %v", se.Offset, se)
	}
	return invalid("Invalid input: %v", err)
}

func friendlyType(t reflect.Type) string {
	if t == nil {
		return "a value"
	}
	switch t.Kind() {
	case reflect.Float64, reflect.Float32, reflect.Int, reflect.Int64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Slice:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Bool:
		return "a boolean"
	}
	return t.String()
}

// splitArray cuts a bulk body into its raw elements with one light pass
// (depth and string tracking only) instead of encoding/json's full scanner,
// because bulk transactions are the sandbox's hot path. The elements are
// sub-slices of body. Element syntax is checked when each element is
// decoded; checkElements turns a syntax error there into a whole-body 400.
func splitArray(body []byte) ([]json.RawMessage, error) {
	b := bytes.TrimSpace(body)
	if len(b) == 0 {
		return nil, errors.New("empty body, expected a JSON array of entities")
	}
	if b[0] != '[' {
		if b[0] == '{' {
			return nil, errors.New("expected a JSON array of entities, got an object")
		}
		return nil, errors.New("expected a JSON array of entities")
	}
	var out []json.RawMessage
	i := skipWS(b, 1)
	if i < len(b) && b[i] == ']' {
		if skipWS(b, i+1) != len(b) {
			return nil, errors.New("malformed JSON: data after the array")
		}
		return out, nil
	}
	for {
		end, err := valueEnd(b, i)
		if err != nil {
			return nil, err
		}
		out = append(out, b[i:end:end])
		i = skipWS(b, end)
		if i >= len(b) {
			return nil, errors.New("malformed JSON: unterminated array")
		}
		switch b[i] {
		case ',':
			i = skipWS(b, i+1)
		case ']':
			if skipWS(b, i+1) != len(b) {
				return nil, errors.New("malformed JSON: data after the array")
			}
			return out, nil
		default:
			return nil, fmt.Errorf("malformed JSON: unexpected %q at offset %d", b[i], i)
		}
	}
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\t' || b[i] == '\r') {
		i++
	}
	return i
}

// valueEnd returns the offset just after the JSON value starting at i.
func valueEnd(b []byte, i int) (int, error) {
	if i >= len(b) {
		return 0, errors.New("malformed JSON: unexpected end of input")
	}
	switch b[i] {
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, nil
				}
			case '"':
				end, err := stringEnd(b, j)
				if err != nil {
					return 0, err
				}
				j = end - 1
			}
		}
		return 0, errors.New("malformed JSON: unexpected end of input")
	case '"':
		return stringEnd(b, i)
	case ',', ']', '}', ':':
		return 0, fmt.Errorf("malformed JSON: unexpected %q at offset %d", b[i], i)
	}
	j := i
	for j < len(b) && b[j] != ',' && b[j] != ']' && b[j] != ' ' && b[j] != '\n' && b[j] != '\t' && b[j] != '\r' {
		j++
	}
	return j, nil
}

func stringEnd(b []byte, i int) (int, error) {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1, nil
		}
	}
	return 0, errors.New("malformed JSON: unterminated string")
}

// syntaxOnly reports whether a per-entity decode error is a JSON syntax error,
// which makes the whole body malformed rather than one entity invalid.
func syntaxOnly(err error) bool {
	var se *json.SyntaxError
	return errors.As(err, &se)
}

// decodeObject decodes one entity and insists it is an object, so "[1,2]" gives
// a per-entity error rather than an empty struct.
func decodeObject(raw json.RawMessage, v any) *apiError {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		kind := "nothing"
		if len(raw) > 0 {
			kind = jsonKind(raw)
		}
		e := invalid("Each entity must be a JSON object, got %s", kind)
		if !json.Valid(raw) {
			e = invalid("Malformed JSON entity %q", raw)
			e.Key = malformedKey
		}
		return &e
	}
	if err := json.Unmarshal(raw, v); err != nil {
		e := decodeError(err)
		if syntaxOnly(err) {
			e.Key = malformedKey
		}
		return &e
	}
	return nil
}

// malformedKey marks a per-entity error that is really a malformed body.
const malformedKey = "MALFORMED_JSON"

func parseForm(body []byte) (url.Values, error) { return url.ParseQuery(string(body)) }
