package nifiel

import (
	"math"
	"math/big"
)

// javaPow is java.lang.Math.pow for math('pow', ...). Go's math.Pow
// computes a fractional power as Exp(yf*Log(x)) and is often an ulp away
// from the correctly rounded result, which Java returns (Math.pow(2, 2.5)
// is 5.656854249492381; math.Pow gives 5.65685424949238). For finite
// arguments this evaluates exp(y*ln|x|) with 160-bit arithmetic and rounds
// once; special values follow math.Pow, whose rules are Java's.
func javaPow(x, y float64) float64 {
	if x == 0 || y == 0 || x == 1 || math.IsInf(x, 0) || math.IsInf(y, 0) || math.IsNaN(x) || math.IsNaN(y) {
		return math.Pow(x, y)
	}
	neg := false
	if x < 0 {
		if y != math.Trunc(y) {
			return math.NaN() // a negative base needs an integer exponent
		}
		neg = math.Mod(y, 2) != 0
		x = -x
	}
	r := math.Pow(x, y)
	if math.IsInf(r, 0) || r == 0 {
		return signed(r, neg) // overflow and underflow need no extra precision
	}
	const prec = 160
	z := new(big.Float).SetPrec(prec).SetFloat64(y)
	z.Mul(z, bigLog(x, prec))
	f, _ := bigExp(z, prec).Float64()
	return signed(f, neg)
}

func signed(f float64, neg bool) float64 {
	if neg {
		return -f
	}
	return f
}

// bigLog returns ln(x) for x > 0: x = m·2^e with m in [0.5, 1), and
// ln(m) = 2·atanh((m-1)/(m+1)) by its series.
func bigLog(x float64, prec uint) *big.Float {
	m, e := math.Frexp(x)
	res := bigAtanh2(new(big.Float).SetPrec(prec).SetFloat64(m), prec)
	if e != 0 {
		ln2 := bigAtanh2(new(big.Float).SetPrec(prec).SetInt64(2), prec)
		res.Add(res, ln2.Mul(ln2, new(big.Float).SetPrec(prec).SetInt64(int64(e))))
	}
	return res
}

// bigAtanh2 returns ln(m) = 2·atanh(t), t = (m-1)/(m+1), for m near 1.
func bigAtanh2(m *big.Float, prec uint) *big.Float {
	one := new(big.Float).SetPrec(prec).SetInt64(1)
	num := new(big.Float).SetPrec(prec).Sub(m, one)
	den := new(big.Float).SetPrec(prec).Add(m, one)
	t := num.Quo(num, den)
	t2 := new(big.Float).SetPrec(prec).Mul(t, t)
	sum := new(big.Float).SetPrec(prec).Set(t)
	term := new(big.Float).SetPrec(prec).Set(t)
	eps := new(big.Float).SetPrec(prec).SetMantExp(one, -int(prec)-8)
	for k := int64(3); ; k += 2 {
		term.Mul(term, t2)
		q := new(big.Float).SetPrec(prec).Quo(term, new(big.Float).SetPrec(prec).SetInt64(k))
		sum.Add(sum, q)
		if q.Sign() == 0 || new(big.Float).Abs(q).Cmp(eps) < 0 {
			break
		}
	}
	return sum.Mul(sum, new(big.Float).SetPrec(prec).SetInt64(2))
}

// bigExp returns e^z: z = k·ln2 + r, e^r by its Taylor series after
// halving r eight times, then squared back and scaled by 2^k.
func bigExp(z *big.Float, prec uint) *big.Float {
	ln2 := bigAtanh2(new(big.Float).SetPrec(prec).SetInt64(2), prec)
	kf, _ := new(big.Float).Quo(z, ln2).Float64()
	k := math.Round(kf)
	r := new(big.Float).SetPrec(prec).Mul(ln2, new(big.Float).SetPrec(prec).SetFloat64(k))
	r.Sub(z, r)
	const halvings = 8
	r.SetMantExp(r, -halvings)
	one := new(big.Float).SetPrec(prec).SetInt64(1)
	sum := new(big.Float).SetPrec(prec).Set(one)
	term := new(big.Float).SetPrec(prec).Set(one)
	eps := new(big.Float).SetPrec(prec).SetMantExp(one, -int(prec)-8)
	for n := int64(1); n < 200; n++ {
		term.Mul(term, r)
		term.Quo(term, new(big.Float).SetPrec(prec).SetInt64(n))
		sum.Add(sum, term)
		if term.Sign() == 0 || new(big.Float).Abs(term).Cmp(eps) < 0 {
			break
		}
	}
	for i := 0; i < halvings; i++ {
		sum.Mul(sum, sum)
	}
	return sum.SetMantExp(sum, int(k))
}
