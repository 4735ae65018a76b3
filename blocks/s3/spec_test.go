package s3

import (
	"testing"

	"github.com/connectplus/connectplus/block"
)

func TestRegisterSpecs(t *testing.T) {
	r := block.NewRegistry()
	Register(r)
	if s, ok := r.Lookup("s3_pull"); !ok || s.Type != "s3_read" {
		t.Fatal("s3_pull not mapped")
	}
	if s, ok := r.Lookup("s3_push"); !ok || s.Type != "s3_write" {
		t.Fatal("s3_push not mapped")
	}
	if f, _ := ReadSpec.Field(KeyBucketRegion); f.Default != "us-east-1" || len(f.Enum) != 22 {
		t.Fatalf("region field %+v", f)
	}
	if f, _ := WriteSpec.Field(KeyObjectKey); !f.SupportsExpressions || f.Default != "${filename}" {
		t.Fatalf("object key field %+v", f)
	}
}
