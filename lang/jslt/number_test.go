package jslt

import (
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// parseNum's digit loop gives what strconv.ParseInt gave it before, on
// every shape of number, including integer and fraction parts around the
// 18-digit bound where it hands over to strconv again.
func TestParseNumMatchesStrconv(t *testing.T) {
	r := rand.New(rand.NewPCG(25, 12))
	digits := func(n int) string {
		var b strings.Builder
		for range n {
			b.WriteByte(byte('0' + r.IntN(10)))
		}
		return b.String()
	}
	check := func(s string) {
		got, gok := parseNum(s)
		want, wok := parseNumStrconv(s)
		same := got.isInt == want.isInt && got.i == want.i &&
			(math.Float64bits(got.f) == math.Float64bits(want.f) || got.f != got.f && want.f != want.f)
		if gok != wok || gok && !same {
			t.Fatalf("%q: got %+v %v, want %+v %v", s, got, gok, want, wok)
		}
	}
	for _, s := range []string{"0", "-0", "007", "-007", "1234.50", ".5", "-.5E2", "1.", "1e5", "1E-7", "-", "",
		"999999999999999999", "9999999999999999999", "9223372036854775807", "9223372036854775808", "-9223372036854775808",
		"-9223372036854775809", "123456789012345678.5", "1234567890123456789.5", "0.123456789012345678", "0.1234567890123456789",
		"0.12345678901234567890", "1.5e300", "1.5e400", "12a", "+1", " 1"} {
		check(s)
	}
	for range 300000 {
		s := digits(r.IntN(22))
		if r.IntN(3) > 0 {
			s += "." + digits(r.IntN(22))
		}
		if r.IntN(4) == 0 {
			s += "e" + []string{"", "+", "-"}[r.IntN(3)] + strconv.Itoa(r.IntN(400))
		}
		if r.IntN(3) == 0 {
			s = "-" + s
		}
		check(s)
	}
}

// parseNumStrconv is parseNum as it was before its digit loop (main at
// 2026-12-07), kept as the reference for the test above.
func parseNumStrconv(s string) (num, bool) {
	if s == "" {
		return num{}, false
	}
	i := 0
	sign := 1.0
	if s[0] == '-' {
		i = 1
		sign = -1
	}
	digits := func() int {
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return i - start
	}
	intDigits := digits()
	if i == len(s) {
		if intDigits == 0 {
			return num{}, false
		}
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return num{i: n, isInt: true}, true
		}
		f, err := strconv.ParseFloat(s, 64)
		return num{f: f}, err == nil
	}
	// The reference accepts a missing integer part (".5", "-.5E2") and
	// computes the value as (int + frac/10^digits) * sign * 10^exp, which
	// is reproduced here so results agree to the last bit.
	var intPart float64
	if intDigits > 0 {
		n, err := strconv.ParseInt(s[i-intDigits:i], 10, 64)
		if err != nil {
			return parseFloatFallback(s)
		}
		intPart = float64(n)
	}
	value := intPart * sign
	if s[i] == '.' {
		i++
		fstart := i
		nd := digits()
		if nd == 0 {
			return num{}, false
		}
		frac, err := strconv.ParseInt(s[fstart:i], 10, 64)
		if err != nil {
			return parseFloatFallback(s)
		}
		value = (intPart + float64(frac)/math.Pow10(nd)) * sign
		if i == len(s) {
			return num{f: value}, true
		}
	} else if intDigits == 0 {
		return num{}, false
	}
	if s[i] != 'e' && s[i] != 'E' {
		return num{}, false
	}
	i++
	expSign := 1
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		if s[i] == '-' {
			expSign = -1
		}
		i++
	}
	estart := i
	if digits() == 0 || i != len(s) {
		return num{}, false
	}
	exp, err := strconv.Atoi(s[estart:])
	if err != nil {
		return parseFloatFallback(s)
	}
	return num{f: value * math.Pow10(exp*expSign)}, true
}

// TestPow10MatchesMath: appendNumber divides by pow10[nd] where parseNum's
// arithmetic divides by math.Pow10(nd); they must be the same doubles.
func TestPow10MatchesMath(t *testing.T) {
	for i, p := range pow10 {
		if p != math.Pow10(i) {
			t.Fatalf("pow10[%d] = %v, math.Pow10 gives %v", i, p, math.Pow10(i))
		}
	}
}
