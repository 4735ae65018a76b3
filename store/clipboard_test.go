package store

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// A user's personal dataflow store keeps the newest ClipboardKeep copies,
// lists them newest first without documents, and never shows one user's
// copy to another.
func TestClipboard(t *testing.T) {
	dialects(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		now := time.Now().UTC()
		for _, u := range []string{"usr_a", "usr_b"} {
			if err := s.CreateUser(ctx, User{ID: u, Username: u, PasswordHash: "x", CreatedAt: now, UpdatedAt: now}); err != nil {
				t.Fatal(err)
			}
		}
		var ids []string
		for i := 0; i < ClipboardKeep+3; i++ {
			c := Copy{ID: NewID("cpy"), UserID: "usr_a", SourceOrgID: "org_1", SourceOrgName: "default", SourceFlowID: "flw_1",
				SourceFlowName: "AddCustomerV2", SourceVersion: i + 1, Description: fmt.Sprintf("copy %d", i),
				Document: fmt.Sprintf("name: AddCustomerV2\nblocks: [] # %d\n", i), CreatedAt: now} // one timestamp for all: order is by insertion
			if err := s.Tx(ctx, func(q *Queries) error { return q.AddCopy(ctx, c, ClipboardKeep) }); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, c.ID)
		}
		other := Copy{ID: NewID("cpy"), UserID: "usr_b", SourceOrgID: "org_2", SourceFlowID: "flw_2", SourceFlowName: "x", SourceVersion: 1,
			Description: "b's", Document: "name: x\n", CreatedAt: now}
		if err := s.AddCopy(ctx, other, ClipboardKeep); err != nil {
			t.Fatal(err)
		}
		list, err := s.ListCopies(ctx, "usr_a", 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != ClipboardKeep {
			t.Fatalf("%d copies listed, want %d", len(list), ClipboardKeep)
		}
		for i, c := range list {
			want := ids[len(ids)-1-i]
			if c.ID != want || c.Document != "" || c.UserID != "usr_a" {
				t.Fatalf("copy %d: %+v, want id %s without document", i, c, want)
			}
		}
		// The oldest three were pruned, not just hidden.
		if _, err := s.GetCopy(ctx, "usr_a", ids[0]); !errors.Is(err, ErrNotFound) {
			t.Fatalf("pruned copy: %v", err)
		}
		got, err := s.GetCopy(ctx, "usr_a", ids[len(ids)-1])
		if err != nil || got.SourceVersion != ClipboardKeep+3 || got.Document == "" || got.SourceOrgName != "default" {
			t.Fatalf("get: %+v %v", got, err)
		}
		// Another user's copy does not exist for this user.
		if _, err := s.GetCopy(ctx, "usr_a", other.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("foreign copy: %v", err)
		}
		if err := s.DeleteCopy(ctx, "usr_a", other.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("foreign delete: %v", err)
		}
		if bl, _ := s.ListCopies(ctx, "usr_b", 0); len(bl) != 1 || bl[0].ID != other.ID {
			t.Fatalf("b's list: %+v", bl)
		}
		if err := s.DeleteCopy(ctx, "usr_a", ids[len(ids)-1]); err != nil {
			t.Fatal(err)
		}
		if l, _ := s.ListCopies(ctx, "usr_a", 3); len(l) != 3 || l[0].ID != ids[len(ids)-2] {
			t.Fatalf("after delete: %+v", l)
		}
	})
}
