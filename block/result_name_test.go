package block

import "testing"

func TestResultNameVariant(t *testing.T) {
	for _, tc := range []struct {
		name string
		n    int
		want string
	}{
		{"result_20250101120000_cust.csv", 2, "result_20250101120000-2_cust.csv"},
		{"result_20250101120000_a_b.csv", 3, "result_20250101120000-3_a_b.csv"},
		{"result_20250101120000_", 2, "result_20250101120000-2_"},
		{"other.csv", 2, "other-2.csv"},
		{"result_x", 2, "result_x-2"},
	} {
		if got := ResultNameVariant(tc.name, tc.n); got != tc.want {
			t.Errorf("ResultNameVariant(%q, %d) = %q, want %q", tc.name, tc.n, got, tc.want)
		}
	}
}
