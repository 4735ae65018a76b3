package main

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

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

func TestServeKeepAlive(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	s := &sink{cache: map[int][]byte{}}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	base := "http://" + ln.Addr().String()
	client := &http.Client{}
	for i := 0; i < 3; i++ {
		resp, err := client.Post(base+"/v2/transactions/bulk", "application/json", strings.NewReader(`[{"a":1},{"b":"x,y"}]`))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || strings.Count(string(b), "entityId") != 2 {
			t.Fatalf("%d %s", resp.StatusCode, b)
		}
	}
	resp, err := client.Get(base + "/stats")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `"records":6`) {
		t.Fatalf("stats %s", b)
	}
}
