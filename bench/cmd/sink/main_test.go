package main

import "testing"

func TestCountElements(t *testing.T) {
	for in, want := range map[string]int{
		`[]`: 0, ` [ ] `: 0, `{"a":1}`: 1, `[1]`: 1, `[1,2,3]`: 3,
		`[{"a":"x,y","b":[1,2]},{"c":"q\"uote,"}]`: 2, `[{"a":"ends with \\\\"},2]`: 2,
	} {
		if got := countElements([]byte(in)); got != want {
			t.Errorf("%s: got %d want %d", in, got, want)
		}
	}
}
