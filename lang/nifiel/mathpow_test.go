package nifiel

import (
	"math"
	"testing"
)

// TestJavaPow checks math('pow') against values java.lang.Math.pow returns.
func TestJavaPow(t *testing.T) {
	for _, c := range []struct{ x, y, want float64 }{
		{2, 2.5, 5.656854249492381},
		{1e10, 30, 1e300},
		{2.5, 2, 6.25},
		{-2, 3, -8},
		{-2, 2, 4},
		{2, -1074, 5e-324},
		{2, 1024, math.Inf(1)},
		{0.5, -3, 8},
		{0, -1, math.Inf(1)},
		{9, 0.5, 3},
	} {
		if got := javaPow(c.x, c.y); got != c.want {
			t.Errorf("pow(%v, %v) = %v, want %v", c.x, c.y, got, c.want)
		}
	}
	if got := javaPow(-2, 0.5); !math.IsNaN(got) {
		t.Errorf("pow(-2, 0.5) = %v, want NaN", got)
	}
}
