package nifiel

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/connectplus/connectplus/lang/javatime"
)

// Type is the data type of a Value, following NiFi's expression types.
type Type uint8

const (
	// TypeNull is the type of an absent value (a missing attribute, or a
	// function result NiFi reports as null). It renders as "".
	TypeNull Type = iota
	// TypeString is text.
	TypeString
	// TypeNumber is a whole number (a Java long).
	TypeNumber
	// TypeDecimal is a floating-point number (a Java double).
	TypeDecimal
	// TypeDate is a point in time with millisecond precision (a java.util.Date).
	TypeDate
	// TypeBoolean is true or false.
	TypeBoolean
	// TypeInstant is a point in time with nanosecond precision (a java.time.Instant).
	TypeInstant

	// typeAnyNumber is the static type of functions whose result is a whole
	// number or a decimal depending on their inputs (plus, minus, ...). No
	// Value ever has it.
	typeAnyNumber Type = 100
)

// String returns the type's name as NiFi's documentation spells it.
func (t Type) String() string {
	switch t {
	case TypeNull:
		return "Null"
	case TypeString:
		return "String"
	case TypeNumber:
		return "Number"
	case TypeDecimal:
		return "Decimal"
	case TypeDate:
		return "Date"
	case TypeBoolean:
		return "Boolean"
	case TypeInstant:
		return "Instant"
	case typeAnyNumber:
		return "Number"
	}
	return "Type(" + strconv.Itoa(int(t)) + ")"
}

// Value is the result of an expression. The zero Value is null.
type Value struct {
	t   Type
	s   string
	i   int64          // Number; Date as Unix milliseconds; Instant as Unix seconds; Boolean as 0/1
	n   int32          // Instant nanoseconds within the second
	f   float64        // Decimal
	loc *time.Location // zone Date values render in
}

// Null is the null Value.
var Null = Value{}

// StringValue returns a String value.
func StringValue(s string) Value { return Value{t: TypeString, s: s} }

// NumberValue returns a whole-number value.
func NumberValue(n int64) Value { return Value{t: TypeNumber, i: n} }

// DecimalValue returns a decimal value.
func DecimalValue(f float64) Value { return Value{t: TypeDecimal, f: f} }

// BoolValue returns a Boolean value.
func BoolValue(b bool) Value {
	if b {
		return Value{t: TypeBoolean, i: 1}
	}
	return Value{t: TypeBoolean}
}

// DateValue returns a Date value; it keeps millisecond precision, as
// java.util.Date does, and renders in t's location.
func DateValue(t time.Time) Value {
	return Value{t: TypeDate, i: t.UnixMilli(), loc: t.Location()}
}

// InstantValue returns an Instant value.
func InstantValue(t time.Time) Value {
	return Value{t: TypeInstant, i: t.Unix(), n: int32(t.Nanosecond())}
}

func dateMillis(ms int64, loc *time.Location) Value {
	return Value{t: TypeDate, i: ms, loc: loc}
}

// Type returns the value's type; TypeNull for null.
func (v Value) Type() Type { return v.t }

// IsNull reports whether the value is null.
func (v Value) IsNull() bool { return v.t == TypeNull }

// Bool returns the value of a Boolean; ok is false for other types.
func (v Value) Bool() (b, ok bool) { return v.i != 0, v.t == TypeBoolean }

// Int returns the value of a Number; ok is false for other types.
func (v Value) Int() (int64, bool) { return v.i, v.t == TypeNumber }

// Float returns the value of a Decimal or Number; ok is false for other types.
func (v Value) Float() (float64, bool) {
	switch v.t {
	case TypeDecimal:
		return v.f, true
	case TypeNumber:
		return float64(v.i), true
	}
	return 0, false
}

// Time returns the value of a Date or Instant; ok is false for other types.
func (v Value) Time() (time.Time, bool) {
	switch v.t {
	case TypeDate:
		return v.dateTime(), true
	case TypeInstant:
		return time.Unix(v.i, int64(v.n)).UTC(), true
	}
	return time.Time{}, false
}

func (v Value) dateTime() time.Time {
	loc := v.loc
	if loc == nil {
		loc = time.UTC
	}
	return time.UnixMilli(v.i).In(loc)
}

// defaultDateLayout is how java.util.Date.toString renders, which is how
// NiFi renders a Date result.
var defaultDateLayout = javatime.MustCompile("EEE MMM dd HH:mm:ss zzz yyyy")

// String renders the value exactly as NiFi does: null as "", booleans as
// true/false, decimals as Java's Double.toString, dates as Date.toString and
// instants as ISO-8601 (Instant.toString).
func (v Value) String() string {
	switch v.t {
	case TypeString:
		return v.s
	case TypeNumber:
		return strconv.FormatInt(v.i, 10)
	case TypeDecimal:
		return formatJavaDouble(v.f)
	case TypeBoolean:
		if v.i != 0 {
			return "true"
		}
		return "false"
	case TypeDate:
		return defaultDateLayout.Format(v.dateTime())
	case TypeInstant:
		return formatInstant(time.Unix(v.i, int64(v.n)).UTC())
	}
	return ""
}

// formatInstant renders like java.time.Instant.toString: the fraction is
// omitted when zero and otherwise printed in groups of three digits.
func formatInstant(t time.Time) string {
	b := t.AppendFormat(nil, "2006-01-02T15:04:05")
	if ns := t.Nanosecond(); ns != 0 {
		frac := strconv.Itoa(ns + 1e9)[1:]
		switch {
		case ns%1e6 == 0:
			frac = frac[:3]
		case ns%1e3 == 0:
			frac = frac[:6]
		}
		b = append(b, '.')
		b = append(b, frac...)
	}
	return string(append(b, 'Z'))
}

// formatJavaDouble renders f as java.lang.Double.toString does: plain
// notation with at least one fractional digit for 1e-3 <= |f| < 1e7, and
// otherwise computerized scientific notation such as 1.0E10 or 1.5E-5.
func formatJavaDouble(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0:
		if math.Signbit(f) {
			return "-0.0"
		}
		return "0.0"
	}
	// Shortest digits that round-trip, as Java (since JDK 19) prints.
	e := strconv.FormatFloat(f, 'e', -1, 64)
	neg := e[0] == '-'
	if neg {
		e = e[1:]
	}
	mant, expStr, _ := strings.Cut(e, "e")
	exp, _ := strconv.Atoi(expStr)
	digits := strings.Replace(mant, ".", "", 1)
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	abs := math.Abs(f)
	if abs >= 1e-3 && abs < 1e7 {
		if exp >= 0 {
			intLen := exp + 1
			if len(digits) <= intLen {
				b.WriteString(digits)
				b.WriteString(strings.Repeat("0", intLen-len(digits)))
				b.WriteString(".0")
			} else {
				b.WriteString(digits[:intLen])
				b.WriteByte('.')
				b.WriteString(digits[intLen:])
			}
		} else {
			b.WriteString("0.")
			b.WriteString(strings.Repeat("0", -exp-1))
			b.WriteString(digits)
		}
		return b.String()
	}
	b.WriteByte(digits[0])
	b.WriteByte('.')
	if len(digits) > 1 {
		b.WriteString(digits[1:])
	} else {
		b.WriteByte('0')
	}
	b.WriteByte('E')
	b.WriteString(strconv.Itoa(exp))
	return b.String()
}
