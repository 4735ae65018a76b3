package nifiel

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParameterReferences(t *testing.T) {
	params := Parameters{
		"host":        {Value: "sftp.example.com"},
		"Batch Size":  {Value: "50"},
		"fmt":         {Value: "yyyy"},
		"secret":      {Value: "s3cr3t", Sensitive: true},
		"nested":      {Value: "${host}"},
		"with'quote":  {Value: "q"},
		"empty value": {Value: ""},
	}
	attrs := MapLookup{"host": "attr-host", "ref": "#{host}"}
	for _, tc := range []struct{ src, want string }{
		{"#{host}", "sftp.example.com"},
		{"sftp://#{host}:22/in", "sftp://sftp.example.com:22/in"},
		{"#{'Batch Size'}", "50"},
		{"#{Batch Size}", "50"},
		{"#{missing}", ""},
		{"##{host}", "#{host}"},            // ## escapes the reference
		{"###{host}", "#sftp.example.com"}, // ## is one #, then a reference
		{"####{host}", "##{host}"},
		{"a#b #{host", "a#b #{host"}, // no closing brace: text
		{"#{with'quote}", "#{with'quote}"},
		{"#{secret}", "s3cr3t"}, // a value that is only text may use a secret
		{"pw=#{secret}", "pw=s3cr3t"},
		{"${#{host}}", "sftp.example.com"},
		{"${#{'Batch Size'}:plus(1)}", "51"},
		{"${#{\"Batch Size\"}:plus(1)}", "51"},
		{"${#{host}:append('/'):append(#{Batch Size})}", "sftp.example.com/50"},
		{"${host:equals(#{host})}", "false"},
		{"${literal('#{host}')}", "#{host}"}, // string literals are not templates of parameters
		{"${#{secret}}", ""},                 // never inside an expression
		{"${#{secret}:append('x')}", "x"},
		{"#{secret} ${host}", " attr-host"}, // nor in text that holds an expression
		{"#{host} ${host}", "sftp.example.com attr-host"},
		{"${#{missing}:isNull()}", "true"},
		{"${#{empty value}:isEmpty()}", "true"},
		{"#{nested}", "${host}"}, // a parameter's value is not evaluated again
		{"${ref:evaluateELString()}", ""},
		{"$${#{host}}", "${#{host}}"},
		{"${host # a comment\n}", "attr-host"},
	} {
		x, err := Compile(tc.src, WithParameters(params))
		if err != nil {
			t.Errorf("%q: %v", tc.src, err)
			continue
		}
		got, err := x.EvalString(attrs)
		if err != nil || got != tc.want {
			t.Errorf("%q = %q, %v; want %q", tc.src, got, err, tc.want)
		}
	}
}

func TestParameterContextAtEvaluation(t *testing.T) {
	x := MustCompile("${#{prefix}:append(${name})}_#{suffix}", WithParameters(ValueParameters{"prefix": "compile-time", "suffix": "x"}))
	if got := x.Parameters(); !reflect.DeepEqual(got, []string{"prefix", "suffix"}) {
		t.Errorf("Parameters() = %q", got)
	}
	attrs := MapLookup{"name": "-n"}
	if s, _ := x.EvalString(attrs); s != "compile-time-n_x" {
		t.Errorf("with the compile-time context: %q", s)
	}
	// The evaluation's own context wins over the compile-time one.
	s, err := x.EvalString(WithParameterContext(attrs, ValueParameters{"prefix": "run", "suffix": "y"}))
	if err != nil || s != "run-n_y" {
		t.Errorf("with the evaluation's context: %q, %v", s, err)
	}
	// Multi-attribute functions still see the attribute names.
	m := MustCompile("${allMatchingAttributes('n.*'):join(#{sep})}")
	s, err = m.EvalString(WithParameterContext(attrs, ValueParameters{"sep": ";"}))
	if err != nil || s != "-n" {
		t.Errorf("allMatchingAttributes through a parameter context: %q, %v", s, err)
	}
	if s, _ := MustCompile("#{a}").EvalString(nil); s != "" {
		t.Errorf("no parameter context: %q, want empty", s)
	}
	if !MustCompile("#{a}").HasExpressions() {
		t.Error("a parameter reference makes the value non-constant")
	}
}

func TestParameterSyntaxErrors(t *testing.T) {
	for src, want := range map[string]string{
		"${#{}}":      "empty parameter reference",
		"${#{abc":     "no closing",
		"${a:equals(": "",
	} {
		_, err := Compile(src, RejectUnterminated())
		var ce *Error
		if !errors.As(err, &ce) || !strings.Contains(ce.Msg, want) {
			t.Errorf("%q: %v, want an error with %q", src, err, want)
		}
	}
}

func TestCompileQuery(t *testing.T) {
	attrs := MapLookup{"abc": "xyz"}
	for _, src := range []string{
		"# hello, world\n${# ref attr\n\tabc\t#end ref attr\n}",
		"  ${abc}\n",
		"${abc} # trailing comment\n",
	} {
		x, err := CompileQuery(src)
		if err != nil {
			t.Errorf("%q: %v", src, err)
			continue
		}
		if s, _ := x.EvalString(attrs); s != "xyz" || x.Source() != src {
			t.Errorf("%q = %q (source %q)", src, s, x.Source())
		}
	}
	for src, off := range map[string]int{
		"${allAttributes('#ah'):equals('hello')": 38,
		"x ${abc}":                               0,
		"${abc} ${abc}":                          7,
		"# no line break ${abc}":                 0,
		"# c\n${abc:foo()}":                      10,
	} {
		_, err := CompileQuery(src)
		var ce *Error
		if !errors.As(err, &ce) || ce.Offset != off || ce.Source != src {
			t.Errorf("%q: %v, want an error at %d", src, err, off)
		}
	}
}
