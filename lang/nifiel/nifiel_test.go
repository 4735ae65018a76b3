package nifiel

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// fixedNow is the clock of every test: 2024-06-15 10:20:30.123 UTC.
var fixedNow = time.Date(2024, 6, 15, 10, 20, 30, 123e6, time.UTC)

const addressBook = `{"firstName":"John","lastName":"Smith","isAlive":true,"age":25,` +
	`"address":{"streetAddress":"21 2nd Street","city":"New York","state":"NY","postalCode":"10021-3100"},` +
	`"phoneNumbers":[{"type":"home","number":"212 555-1234"},{"type":"office","number":"646 555-4567"}],` +
	`"children":[],"spouse":null,"nicknames":["Johnny"]}`

// guideAttrs are the attributes the NiFi Expression Language Guide's
// examples assume.
func guideAttrs() MapLookup {
	return MapLookup{
		"filename":     "a brand new filename.txt",
		"fileSize":     "100",
		"abc":          "hello world",
		"xyz":          "good bye world",
		"number_list":  "1,2,3,4,5",
		"word_list":    "this,that,then",
		"emptyAttr":    "   ",
		"blank":        "",
		"message":      `He didn't say, "Stop!"`,
		"json":         addressBook,
		"time":         "1420058163264",
		"year":         "2014",
		"dateText":     "2014/12/31 15:36:03.264Z",
		"bool":         "true",
		"myEnum":       "JOHN",
		"greetings":    "hello",
		"url":          "some value with spaces",
		"encoded":      "some%20value%20with%20spaces",
		"creds":        "admin:admin",
		"query":        "SELECT * FROM TABLE WHERE ID = ${id}",
		"id":           "20",
		"my attr":      "spaced",
		"kafka.key":    "k1",
		"status":       "paid",
		"header_value": "0",
		"line":         `"Jacob, John",27,"Smith"`,
		"hexNum":       "0x1F",
		"dec":          "3.75",
		"neg":          "-12",
		"unicode":      "héllo wörld",
		"attrName":     "filename",
		"body":         "string value",
	}
}

func opts() []Option {
	return []Option{
		WithClock(func() time.Time { return fixedNow }),
		WithHostname("nifi-node"),
		WithFQDN("nifi-node.example.com"),
		WithIP("10.0.0.7"),
		WithState(func(k string) (string, bool) {
			if k == "counter" {
				return "42", true
			}
			return "", false
		}),
	}
}

type evalCase struct {
	expr string
	want string
	typ  Type // checked when not TypeNull
}

func runCases(t *testing.T, attrs Lookup, cases []evalCase) {
	t.Helper()
	for _, c := range cases {
		x, err := Compile(c.expr, opts()...)
		if err != nil {
			t.Errorf("Compile(%q): %v", c.expr, err)
			continue
		}
		v, err := x.Evaluate(attrs)
		if err != nil {
			t.Errorf("Evaluate(%q): %v", c.expr, err)
			continue
		}
		if got := v.String(); got != c.want {
			t.Errorf("%s = %q, want %q", c.expr, got, c.want)
		}
		if c.typ != TypeNull && v.Type() != c.typ {
			t.Errorf("%s: type %s, want %s", c.expr, v.Type(), c.typ)
		}
		s, err := x.EvalString(attrs)
		if err != nil || s != c.want {
			t.Errorf("EvalString(%q) = %q, %v; want %q", c.expr, s, err, c.want)
		}
	}
}

func TestStructureAndEscaping(t *testing.T) {
	attrs := guideAttrs()
	attrs["abc"] = "xyz"
	runCases(t, attrs, []evalCase{
		{"${abc}", "xyz", TypeString},
		{"$${abc}", "${abc}", TypeString},
		{"$$${abc}", "$xyz", TypeString},
		{"$$$${abc}", "$${abc}", TypeString},
		{"$$$$${abc}", "$$xyz", TypeString},
		{"I owe you $5", "I owe you $5", TypeString},
		{"You owe me $$5 too", "You owe me $$5 too", TypeString},
		{"Unescaped $$${5 because no closing brace", "Unescaped $$${5 because no closing brace", TypeString},
		{"Hello $$User$$Name", "Hello $$User$$Name", TypeString},
		{"${NOT_AN_ATTRIBUTE}", "", TypeNull},
		{"", "", TypeString},
		{"plain text", "plain text", TypeString},
		{"${'my attr'}", "spaced", TypeString},
		{`${"my attr"}`, "spaced", TypeString},
		{"${kafka.key}", "k1", TypeString},
		{"${${attrName}}", "a brand new filename.txt", TypeString},
		{"${'${attrName}'}", "a brand new filename.txt", TypeString},
		{"merg_${now():format('yyyy-MM-dd')}.csv", "merg_2024-06-15.csv", TypeString},
		{"${ filename : toUpper ( ) }", "A BRAND NEW FILENAME.TXT", TypeString},
		{"${filename # the name\n:toUpper() # shout it\n}", "A BRAND NEW FILENAME.TXT", TypeString},
		{"${filename:append('${abc}')}", "a brand new filename.txtxyz", TypeString},
		{"${filename:append('$${abc}')}", "a brand new filename.txt${abc}", TypeString},
		{`${literal('it\'s'):append("\t|\n")}`, "it's\t|\n", TypeString},
		{`${literal('a\\d')}`, `a\d`, TypeString}, // an escaped backslash is one backslash, as in NiFi
		{`${literal('a\d')}`, `a\d`, TypeString},
		{"a${abc}b${abc}c", "axyzbxyzc", TypeString},
		{"${literal(${literal(${literal('deep')})})}", "deep", TypeString},
	})
}

func TestBooleanLogic(t *testing.T) {
	runCases(t, guideAttrs(), []evalCase{
		{"${filename:isNull()}", "false", TypeBoolean},
		{"${nullAttr:isNull()}", "true", TypeBoolean},
		{"${filename:notNull()}", "true", TypeBoolean},
		{"${nullAttr:notNull()}", "false", TypeBoolean},
		{"${nullAttr:toUpper():isNull()}", "true", TypeBoolean},
		{"${filename:isEmpty()}", "false", TypeBoolean},
		{"${nullAttr:isEmpty()}", "true", TypeBoolean},
		{"${emptyAttr:isEmpty()}", "true", TypeBoolean},
		{"${blank:isEmpty()}", "true", TypeBoolean},
		{"${filename:equals('hello.txt')}", "false", TypeBoolean},
		{"${filename:equals('a brand new filename.txt')}", "true", TypeBoolean},
		{"${nullAttr:equals('x')}", "false", TypeBoolean},
		{"${header_value:equals(0)}", "true", TypeBoolean},
		{"${fileSize:toNumber():equals('100')}", "true", TypeBoolean},
		{"${fileSize:toNumber():equals(100.0)}", "true", TypeBoolean},
		{"${bool:equals('true')}", "true", TypeBoolean},
		{"${filename:startsWith('a'):equals(true)}", "true", TypeBoolean},
		{"${time:toDate():equals(${time})}", "true", TypeBoolean},
		{"${filename:equalsIgnoreCase('A BRAND NEW FILENAME.TXT')}", "true", TypeBoolean},
		{"${filename:equalsIgnoreCase('hello')}", "false", TypeBoolean},
		{"${fileSize:gt(1024)}", "false", TypeBoolean},
		{"${fileSize:gt(99)}", "true", TypeBoolean},
		{"${fileSize:ge(100)}", "true", TypeBoolean},
		{"${fileSize:lt(100)}", "false", TypeBoolean},
		{"${fileSize:le(100.5)}", "true", TypeBoolean},
		{"${dec:gt(3)}", "true", TypeBoolean},
		{"${filename:gt(3)}", "false", TypeBoolean},
		{"${nullAttr:lt(3)}", "false", TypeBoolean},
		{"${filename:toLower():equals(${filename}):and(${filename:substring(0, 2):equals('a ')})}", "true", TypeBoolean},
		{"${filename:toUpper():equals(${filename}):and(${nullAttr:isNull()})}", "false", TypeBoolean},
		{"${filename:toLower():equals(${filename}):or(${filename:equals('hello.txt')})}", "true", TypeBoolean},
		{"${filename:equals('x'):or(${filename:equals('y')})}", "false", TypeBoolean},
		{"${status:equals('paid'):or(${status:equals('refunded')})}", "true", TypeBoolean},
		{"${filename:startsWith('a'):not()}", "false", TypeBoolean},
		{"${filename:startsWith('b'):not()}", "true", TypeBoolean},
		{"${bool:not()}", "false", TypeBoolean},
		{"${nullAttr:not()}", "", TypeNull},
		{"${bool:ifElse('a', 'b')}", "a", TypeString},
		{"${literal(true):ifElse('a', 'b')}", "a", TypeString},
		{"${nullAttr:ifElse('a', 'b')}", "b", TypeString},
		{"${filename:equals('hello'):ifElse('yes', 'no')}", "no", TypeString},
		{"${myEnum:in('PAUL', 'JOHN', 'MIKE')}", "true", TypeBoolean},
		{"${myEnum:in('RED', 'GREEN', 'BLUE')}", "false", TypeBoolean},
		{"${nullAttr:in('RED')}", "false", TypeBoolean},
		{"${json:isJson()}", "true", TypeBoolean},
		{"${filename:isJson()}", "false", TypeBoolean},
		{"${literal(true)}", "true", TypeString}, // ToLiteralEvaluator is a StringEvaluator
		{"${literal(false):or(true)}", "true", TypeBoolean},
	})
}

func TestStringManipulation(t *testing.T) {
	runCases(t, guideAttrs(), []evalCase{
		{"${filename:toUpper()}", "A BRAND NEW FILENAME.TXT", TypeString},
		{"${filename:toLower()}", "a brand new filename.txt", TypeString},
		{"${literal('  a b  '):trim()}", "a b", TypeString},
		{"${filename:substring(0,1)}", "a", TypeString},
		{"${filename:substring(2)}", "brand new filename.txt", TypeString},
		{"${filename:substring(12)}", "filename.txt", TypeString},
		{"${filename:substring( ${filename:length():minus(2)} )}", "xt", TypeString},
		{"${filename:substring(100)}", "", TypeString},
		{"${filename:substring(-1)}", "", TypeString},
		{"${filename:substring(2, 100)}", "", TypeString},
		{"${unicode:substring(1, 4)}", "éll", TypeString},
		{"${nullAttr:substring(1)}", "", TypeString},
		{"${filename:substringBefore('.')}", "a brand new filename", TypeString},
		{"${filename:substringBefore(' ')}", "a", TypeString},
		{"${filename:substringBefore(' n')}", "a brand", TypeString},
		{"${filename:substringBefore('missing')}", "a brand new filename.txt", TypeString},
		{"${filename:substringBeforeLast('.')}", "a brand new filename", TypeString},
		{"${filename:substringBeforeLast(' ')}", "a brand new", TypeString},
		{"${filename:substringBeforeLast(' n')}", "a brand", TypeString},
		{"${filename:substringBeforeLast('missing')}", "a brand new filename.txt", TypeString},
		{"${filename:substringAfter('.')}", "txt", TypeString},
		{"${filename:substringAfter(' ')}", "brand new filename.txt", TypeString},
		{"${filename:substringAfter(' n')}", "ew filename.txt", TypeString},
		{"${filename:substringAfter('missing')}", "a brand new filename.txt", TypeString},
		{"${filename:substringAfterLast('.')}", "txt", TypeString},
		{"${filename:substringAfterLast(' ')}", "filename.txt", TypeString},
		{"${filename:substringAfterLast(' n')}", "ew filename.txt", TypeString},
		{"${filename:substringAfterLast('missing')}", "a brand new filename.txt", TypeString},
		{"${line:getDelimitedField(1)}", `"Jacob, John"`, TypeString},
		{"${line:getDelimitedField(2)}", "27", TypeString},
		{"${line:getDelimitedField(1, ',', '\"', '|', true)}", "Jacob, John", TypeString},
		{"${line:getDelimitedField(9)}", "", TypeString},
		{"${literal('a|b|c'):getDelimitedField(3, '|')}", "c", TypeString},
		{"${filename:append('.gz')}", "a brand new filename.txt.gz", TypeString},
		{"${nullAttr:append('x')}", "x", TypeString},
		{"${filename:prepend('a brand new ')}", "a brand new a brand new filename.txt", TypeString},
		{"${filename:replace('.', '_')}", "a brand new filename_txt", TypeString},
		{"${filename:replace(' ', '.')}", "a.brand.new.filename.txt", TypeString},
		{"${filename:replace('XYZ', 'ZZZ')}", "a brand new filename.txt", TypeString},
		{"${filename:replace('filename', 'book')}", "a brand new book.txt", TypeString},
		{"${filename:replaceFirst('a', 'the')}", "the brand new filename.txt", TypeString},
		{"${filename:replaceFirst('[br]', 'g')}", "a grand new filename.txt", TypeString},
		{"${filename:replaceFirst('XYZ', 'ZZZ')}", "a brand new filename.txt", TypeString},
		{`${filename:replaceFirst('\w{8}', 'book')}`, "a brand new book.txt", TypeString},
		{`${filename:replaceAll('\..*', '')}`, "a brand new filename", TypeString},
		{"${filename:replaceAll('a brand (new)', '$1')}", "new filename.txt", TypeString},
		{"${filename:replaceAll('XYZ', 'ZZZ')}", "a brand new filename.txt", TypeString},
		{"${filename:replaceAll('brand (new)', 'somewhat $1')}", "a somewhat new filename.txt", TypeString},
		// A ${...} inside a string literal is an embedded expression; $$ escapes it.
		{"${filename:replaceAll('(?<word>brand)', '[$${word}]')}", "a [brand] new filename.txt", TypeString},
		{"${filename:replaceAll('(?<word>brand)', '[${word}]')}", "a [] new filename.txt", TypeString},
		{`${filename:replaceAll('a', '\$')}`, "$ br$nd new filen$me.txt", TypeString},
		{"${filename:replaceAll('(b)(r)', '$21')}", "a r1and new filename.txt", TypeString},
		{"${filename:replaceNull('abc')}", "a brand new filename.txt", TypeString},
		{"${nullAttr:replaceNull('abc')}", "abc", TypeString},
		{"${filename:replaceEmpty('abc')}", "a brand new filename.txt", TypeString},
		{"${emptyAttr:replaceEmpty('abc')}", "abc", TypeString},
		{"${nullAttr:replaceEmpty('abc')}", "abc", TypeString},
		{"${filename:length()}", "24", TypeNumber},
		{"${nullAttr:length()}", "0", TypeNumber},
		{"${unicode:length()}", "11", TypeNumber},
		{"${query:evaluateELString()}", "SELECT * FROM TABLE WHERE ID = 20", TypeString},
		{"${greetings:repeat(2)}", "hellohello", TypeString},
		{"${greetings:repeat(2, 2)}", "hellohello", TypeString},
		{"${greetings:padLeft(10)}", "_____hello", TypeString},
		{"${greetings:padLeft(10, '@')}", "@@@@@hello", TypeString},
		{"${greetings:padLeft(10, 'xy')}", "xyxyxhello", TypeString},
		{"${greetings:padLeft(10, 'aVeryLongPaddingString')}", "aVeryhello", TypeString},
		{"${greetings:padLeft(3)}", "hello", TypeString},
		{"${greetings:padLeft(-1)}", "hello", TypeString},
		{"${greetings:padRight(10)}", "hello_____", TypeString},
		{"${greetings:padRight(10, '@')}", "hello@@@@@", TypeString},
		{"${greetings:padRight(10, 'xy')}", "helloxyxyx", TypeString},
		{"${nullAttr:padRight(10)}", "", TypeNull},
	})
}

func TestEncodeDecode(t *testing.T) {
	attrs := guideAttrs()
	attrs["escapedJSON"] = `He didn't say, \"Stop!\"`
	attrs["escapedCSV"] = `"He didn't say, ""Stop!"""`
	attrs["quotedPlain"] = `"plain"`
	sum := sha256.Sum256([]byte("string value"))
	runCases(t, attrs, []evalCase{
		{"${message:escapeJson()}", `He didn't say, \"Stop!\"`, TypeString},
		{"${literal('a/b\u00e9'):escapeJson()}", `a\/b\u00E9`, TypeString},
		{"${message:escapeXml()}", "He didn&apos;t say, &quot;Stop!&quot;", TypeString},
		{"${message:escapeCsv()}", `"He didn't say, ""Stop!"""`, TypeString},
		{"${message:escapeHtml3()}", "He didn't say, &quot;Stop!&quot;", TypeString},
		{"${message:escapeHtml4()}", "He didn't say, &quot;Stop!&quot;", TypeString},
		{"${literal('\u00e9 \u20ac'):escapeHtml3()}", "&eacute; \u20ac", TypeString},
		{"${literal('\u00e9 \u20ac'):escapeHtml4()}", "&eacute; &euro;", TypeString},
		{"${escapedJSON:unescapeJson()}", `He didn't say, "Stop!"`, TypeString},
		{"${literal('He didn&apos;t say, &quot;Stop!&quot;'):unescapeXml()}", `He didn't say, "Stop!"`, TypeString},
		{"${escapedCSV:unescapeCsv()}", `He didn't say, "Stop!"`, TypeString},
		{"${quotedPlain:unescapeCsv()}", `"plain"`, TypeString},
		{"${message:escapeCsv():unescapeCsv()}", `He didn't say, "Stop!"`, TypeString},
		{"${literal('He didn&#39;t say, &quot;Stop!&quot;'):unescapeHtml3()}", `He didn't say, "Stop!"`, TypeString},
		{"${literal('&eacute;&euro;&#x41;'):unescapeHtml4()}", "\u00e9\u20acA", TypeString},
		{"${literal('&euro;'):unescapeHtml3()}", "&euro;", TypeString},
		{"${url:urlEncode()}", "some+value+with+spaces", TypeString},
		{"${literal('a~b*c/d'):urlEncode()}", "a%7Eb*c%2Fd", TypeString},
		{"${encoded:urlDecode()}", "some value with spaces", TypeString},
		{"${literal('some+value'):urlDecode()}", "some value", TypeString},
		{"${creds:base64Encode()}", "YWRtaW46YWRtaW4=", TypeString},
		{"${literal('YWRtaW46YWRtaW4='):base64Decode()}", "admin:admin", TypeString},
		{"${body:UUID3('b9e81de3-7047-4b5e-a822-8fff5b49f808')}", "bf0ea246-a177-3300-bd7e-d4c9e973dc6f", TypeString},
		{"${body:UUID5('245b55a8-397d-4480-a41e-16603c8cf9ad')}", "4d111477-5100-5f2d-ae79-b38bbe15aa78", TypeString},
		{"${body:hash('SHA-256')}", hex.EncodeToString(sum[:]), TypeString},
		{"${literal(''):hash('MD5')}", "d41d8cd98f00b204e9800998ecf8427e", TypeString},
		{"${literal('abc'):hash('SHA-1')}", "a9993e364706816aba3e25717850c26c9cd0d89d", TypeString},
	})
}

func TestSearching(t *testing.T) {
	runCases(t, guideAttrs(), []evalCase{
		{"${filename:startsWith('a brand')}", "true", TypeBoolean},
		{"${filename:startsWith('A BRAND')}", "false", TypeBoolean},
		{"${filename:toUpper():startsWith('A BRAND')}", "true", TypeBoolean},
		{"${filename:endsWith('txt')}", "true", TypeBoolean},
		{"${filename:endsWith('TXT')}", "false", TypeBoolean},
		{"${filename:contains('new')}", "true", TypeBoolean},
		{"${filename:contains('NEW')}", "false", TypeBoolean},
		{"${nullAttr:contains('x')}", "false", TypeBoolean},
		{"${filename:find('a [Bb]rand [Nn]ew')}", "true", TypeBoolean},
		{"${filename:find('Brand.*')}", "false", TypeBoolean},
		{"${filename:find('brand')}", "true", TypeBoolean},
		{"${filename:matches('a.*txt')}", "true", TypeBoolean},
		{"${filename:matches('brand')}", "false", TypeBoolean},
		{"${filename:matches('.+brand.+')}", "true", TypeBoolean},
		{"${filename:matches('\\p{Lower}.*')}", "true", TypeBoolean},
		{"${filename:matches('[a-z ]++\\.txt')}", "true", TypeBoolean},
		{"${filename:matches(${literal('a.*')})}", "true", TypeBoolean},
		{"${filename:indexOf('a.*txt')}", "-1", TypeNumber},
		{"${filename:indexOf('.')}", "20", TypeNumber},
		{"${filename:indexOf('a')}", "0", TypeNumber},
		{"${filename:indexOf(' ')}", "1", TypeNumber},
		{"${unicode:indexOf('w')}", "6", TypeNumber},
		{"${filename:lastIndexOf('a.*txt')}", "-1", TypeNumber},
		{"${filename:lastIndexOf('.')}", "20", TypeNumber},
		{"${filename:lastIndexOf('a')}", "17", TypeNumber},
		{"${filename:lastIndexOf(' ')}", "11", TypeNumber},
		{"${json:jsonPath('$.firstName')}", "John", TypeString},
		{"${json:jsonPath('$.address.postalCode')}", "10021-3100", TypeString},
		{`${json:jsonPath('$.phoneNumbers[?(@.type=="home")].number')}`, "212 555-1234", TypeString},
		{"${json:jsonPath('$.phoneNumbers')}", `[{"type":"home","number":"212 555-1234"},{"type":"office","number":"646 555-4567"}]`, TypeString},
		{"${json:jsonPath('$.missing-path')}", "", TypeString},
		{"${json:jsonPath('$.age')}", "25", TypeString},
		{"${json:jsonPath('$.isAlive')}", "true", TypeString},
		{"${json:jsonPath('$.spouse')}", "", TypeString},
		{"${json:jsonPath('$.phoneNumbers[*].type')}", `["home","office"]`, TypeString},
		{"${json:jsonPath('$.phoneNumbers[-1].type')}", "office", TypeString},
		{"${json:jsonPath(\"$['address']['city']\")}", "New York", TypeString},
		{"${json:jsonPath('$..city')}", "New York", TypeString},
		{"${json:jsonPath('$.phoneNumbers[?(@.type != \"home\")].number')}", "646 555-4567", TypeString},
		{"${json:jsonPath('$.children[*]')}", "[]", TypeString},
		{"${json:jsonPathDelete('$.firstName'):jsonPath('$.firstName')}", "", TypeString},
		{"${json:jsonPathDelete('$.phoneNumbers[0]'):jsonPath('$.phoneNumbers[*].type')}", "office", TypeString},
		{`${literal('{"a":1,"b":2}'):jsonPathDelete('$.missing')}`, `{"a":1,"b":2}`, TypeString},
		{`${literal('{"a":1,"b":2}'):jsonPathDelete('$.a')}`, `{"b":2}`, TypeString},
		{"${json:jsonPathAdd('$.nicknames', 'Jimmy'):jsonPath('$.nicknames')}", `["Johnny","Jimmy"]`, TypeString},
		// Adding to a non-array fails inside NiFi's JsonPathUpdateEvaluator,
		// which returns the empty string.
		{"${json:jsonPathAdd('$.firstName', 'x')}", "", TypeString},
		{`${literal('{"a":1,"b":2}'):jsonPathSet('$.a', 'x')}`, `{"a":"x","b":2}`, TypeString},
		{`${literal('{"a":1,"b":2}'):jsonPathSet('$.a', 30)}`, `{"a":30,"b":2}`, TypeString},
		{`${literal('{"a":1,"b":{}}'):jsonPathPut('$.b', 'k', true)}`, `{"a":1,"b":{"k":true}}`, TypeString},
		{`${literal('{"a":1}'):jsonPathPut('$', 'z', 2.5)}`, `{"a":1,"z":2.5}`, TypeString},
	})
}

func TestMath(t *testing.T) {
	runCases(t, guideAttrs(), []evalCase{
		{"${fileSize:plus(1000)}", "1100", TypeNumber},
		{"${fileSize:plus(1000.0)}", "1100.0", TypeDecimal},
		{"${fileSize:minus(100)}", "0", TypeNumber},
		{"${fileSize:multiply(1024)}", "102400", TypeNumber},
		{"${fileSize:divide(12)}", "8", TypeNumber},
		{"${fileSize:divide(12.0)}", "8.333333333333334", TypeDecimal},
		{"${fileSize:mod(12)}", "4", TypeNumber},
		{"${neg:mod(5)}", "-2", TypeNumber},
		{"${dec:mod(2)}", "1.75", TypeDecimal},
		{"${hexNum:plus(1)}", "32", TypeNumber},
		{"${filename:plus(1)}", "", TypeNull},
		{"${nullAttr:plus(1)}", "", TypeNull},
		{"${fileSize:toRadix(10)}", "100", TypeString},
		{"${fileSize:toRadix(36)}", "2s", TypeString},
		{"${fileSize:toRadix(16)}", "64", TypeString},
		{"${fileSize:toRadix(2)}", "1100100", TypeString},
		{"${fileSize:toRadix(16, 4)}", "0064", TypeString},
		{"${fileSize:toRadix(2, 16)}", "0000000001100100", TypeString},
		{"${neg:toRadix(16, 4)}", "-000c", TypeString},
		{"${literal(1234):fromRadix(16)}", "4660", TypeNumber},
		{"${literal(1234):fromRadix(10)}", "1234", TypeNumber},
		{"${literal('ff'):fromRadix(16)}", "255", TypeNumber},
		{"${literal(2):toDecimal():math('pow', 10)}", "1024.0", TypeDecimal},
		{"${literal(64):toDecimal():math('cbrt'):toNumber():math('max', 5)}", "5", TypeNumber},
		{"${literal(5.4):math('scalb', 2)}", "21.6", TypeDecimal},
		{"${literal(-5):math('abs')}", "5", TypeNumber},
		{"${literal(5.5):math('round')}", "6", TypeNumber},
		{"${literal(7):math('floorMod', -3)}", "-2", TypeNumber},
		{"${literal(2.0):math('sqrt')}", "1.4142135623730951", TypeDecimal},
		{"${literal(1):minus(2):multiply(3)}", "-3", TypeNumber},
		{"${literal(1e10)}", "1.0E10", TypeString},
		{"${literal(0.5)}", "0.5", TypeString},
		{"${literal(0.5):plus(1)}", "1.5", TypeDecimal},
		{"${literal(-0.0005):multiply(2)}", "-0.001", TypeDecimal},
		{"${literal(1.0):divide(0)}", "Infinity", TypeDecimal},
	})
	x := MustCompile("${random()}")
	v, err := x.Evaluate(nil)
	if n, ok := v.Int(); err != nil || !ok || n < 0 {
		t.Errorf("random() = %v, %v", v, err)
	}
	x = MustCompile("${math('random')}")
	v, err = x.Evaluate(nil)
	if f, ok := v.Float(); err != nil || !ok || f < 0 || f >= 1 {
		t.Errorf("math('random') = %v, %v", v, err)
	}
}

func TestDates(t *testing.T) {
	runCases(t, guideAttrs(), []evalCase{
		{`${time:format("yyyy/MM/dd HH:mm:ss.SSS'Z'", "GMT")}`, "2014/12/31 20:36:03.264Z", TypeString},
		{`${time:format("yyyy/MM/dd HH:mm:ss.SSS'Z'", "America/Los_Angeles")}`, "2014/12/31 12:36:03.264Z", TypeString},
		{`${time:format("yyyy/MM/dd HH:mm:ss.SSS'Z'", "Asia/Tokyo")}`, "2015/01/01 05:36:03.264Z", TypeString},
		{`${time:format("yyyy/MM/dd", "GMT")}`, "2014/12/31", TypeString},
		{`${time:format("HH:mm:ss.SSS'Z'", "GMT")}`, "20:36:03.264Z", TypeString},
		{`${time:format("yyyy", "GMT")}`, "2014", TypeString},
		{`${time:format("yyyy", "No/SuchZone")}`, "2014", TypeString},
		{`${time:format("EEE, d MMM yyyy hh:mm a z")}`, "Wed, 31 Dec 2014 08:36 PM UTC", TypeString},
		{`${year:toDate('yyyy', 'GMT'):toNumber()}`, "1388534400000", TypeNumber},
		{`${dateText:toDate("yyyy/MM/dd HH:mm:ss.SSS'Z'", "GMT"):toNumber()}`, "1420040163264", TypeNumber},
		{`${dateText:toDate("yyyy/MM/dd HH:mm:ss.SSS'Z'", "GMT")}`, "Wed Dec 31 15:36:03 UTC 2014", TypeDate},
		{`${dateText:toDate("yyyy/MM/dd HH:mm:ss.SSS'Z'", "GMT"):format('yyyyMMdd')}`, "20141231", TypeString},
		{`${time:toDate()}`, "Wed Dec 31 20:36:03 UTC 2014", TypeDate},
		{`${now()}`, "Sat Jun 15 10:20:30 UTC 2024", TypeDate},
		{`${now():toNumber()}`, "1718446830123", TypeNumber},
		{`${now():toNumber():minus(31536000000):format('yyyy')}`, "2023", TypeString},
		{`${now():minus(86400000):format('yyyy-MM-dd')}`, "2024-06-14", TypeString},
		{`${now():format('yyyyMMddHHmmss')}`, "20240615102030", TypeString},
		{`${literal('2014/12/31 15:36:03'):format('yyyy-MM-dd')}`, "2014-12-31", TypeString},
		{`${literal('Wed Dec 31 15:36:03 UTC 2014'):format('yyyy-MM-dd HH:mm')}`, "2014-12-31 15:36", TypeString},
		{`${nullAttr:toDate('yyyy')}`, "", TypeNull},
		{`${nullAttr:format('yyyy')}`, "", TypeNull},
		{`${literal('2024/01/31 10:15:30.123456789'):toInstant('yyyy/MM/dd HH:mm:ss.SSSSSSSSS', 'Europe/Paris')}`, "2024-01-31T09:15:30.123456789Z", TypeInstant},
		{`${literal('2024/01/31 10:15:30.123456789'):toInstant('yyyy/MM/dd HH:mm:ss.SSSSSSSSS', 'Europe/Paris'):formatInstant('yyyy-MM-dd HH:mm:ss.SSSSSS', 'GMT')}`, "2024-01-31 09:15:30.123456", TypeString},
		{`${literal('2024/01/31 10:15:30.123456789'):toInstant('yyyy/MM/dd HH:mm:ss.SSSSSSSSS', 'UTC'):toMicros()}`, "1706696130123456", TypeNumber},
		{`${literal('2024/01/31 10:15:30.123456789'):toInstant('yyyy/MM/dd HH:mm:ss.SSSSSSSSS', 'UTC'):toNanos()}`, "1706696130123456789", TypeNumber},
		{`${time:formatInstant('yyyy-MM-dd HH:mm:ss.SSS', 'UTC')}`, "2014-12-31 20:36:03.264", TypeString},
		{`${literal('2014-12-31T20:36:03.264Z'):formatInstant('yyyy', 'UTC')}`, "2014", TypeString},
		{`${now():toInstant()}`, "2024-06-15T10:20:30.123Z", TypeInstant},
	})
	// The default zone applies when an expression names none.
	ny, ok := resolveZoneForTest("America/New_York")
	if !ok {
		t.Fatal("no America/New_York")
	}
	x := MustCompile("${time:toDate()}", WithLocation(ny))
	s, err := x.EvalString(guideAttrs())
	if err != nil || s != "Wed Dec 31 15:36:03 EST 2014" {
		t.Errorf("date in New York = %q, %v", s, err)
	}
}

func resolveZoneForTest(id string) (*time.Location, bool) {
	l, err := time.LoadLocation(id)
	return l, err == nil
}

func TestTypeCoercion(t *testing.T) {
	runCases(t, guideAttrs(), []evalCase{
		{"${fileSize:toNumber()}", "100", TypeNumber},
		{"${dec:toNumber()}", "3", TypeNumber},
		{"${filename:toNumber()}", "", TypeNull},
		{"${fileSize:toDecimal()}", "100.0", TypeDecimal},
		{"${dec:toDecimal()}", "3.75", TypeDecimal},
		{"${literal(5):toString()}", "5", TypeString},
		{"${fileSize:toNumber():toString():append('x')}", "100x", TypeString},
		{"${now():toString()}", "Sat Jun 15 10:20:30 UTC 2024", TypeString},
		{"${literal(3.0):toNumber()}", "3", TypeNumber},
		{"${literal(2):gt(1)}", "true", TypeBoolean},
	})
}

func TestSubjectless(t *testing.T) {
	runCases(t, guideAttrs(), []evalCase{
		{"${ip()}", "10.0.0.7", TypeString},
		{"${hostname()}", "nifi-node", TypeString},
		{"${hostname(false)}", "nifi-node", TypeString},
		{"${hostname(true)}", "nifi-node.example.com", TypeString},
		{"${literal('hello'):toUpper()}", "HELLO", TypeString},
		{"${literal( ${allMatchingAttributes('a.*'):count()} ):gt(0)}", "true", TypeBoolean},
		{"${getStateValue('counter')}", "42", TypeString},
		{"${getStateValue('missing'):isNull()}", "true", TypeBoolean},
		{"${thread()}", "main", TypeString},
	})
	x := MustCompile("${UUID()}")
	u, err := x.EvalString(nil)
	if err != nil || !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(u) {
		t.Errorf("UUID() = %q, %v", u, err)
	}
	x = MustCompile("${UUID()}", WithRandom(bytes.NewReader(make([]byte, 16))))
	if u, _ := x.EvalString(nil); u != "00000000-0000-4000-8000-000000000000" {
		t.Errorf("UUID() with zero randomness = %q", u)
	}

	// nextInt counts per compiled expression and is safe for concurrent use.
	x = MustCompile("${nextInt()}")
	var wg sync.WaitGroup
	seen := make([]bool, 400)
	var mu sync.Mutex
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				v, err := x.Evaluate(nil)
				n, _ := v.Int()
				mu.Lock()
				if err != nil || n < 0 || n >= 400 || seen[n] {
					t.Errorf("nextInt() = %d, %v", n, err)
				} else {
					seen[n] = true
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if y := MustCompile("${nextInt()}"); func() int64 { v, _ := y.Evaluate(nil); n, _ := v.Int(); return n }() != 0 {
		t.Error("a new expression's nextInt() must start at 0")
	}
}

func TestMultipleAttributes(t *testing.T) {
	attrs := MapLookup{
		"abc":         "hello world",
		"xyz":         "good bye world",
		"filename":    "file.txt",
		"number_list": "1,2,3,4,5",
		"word_list":   "this,that,then",
	}
	runCases(t, attrs, []evalCase{
		{`${anyAttribute("abc", "xyz"):contains("bye")}`, "true", TypeBoolean},
		{`${anyAttribute("filename","xyz"):toUpper():contains("e")}`, "false", TypeBoolean},
		{`${allAttributes("abc", "xyz"):matches('.*world')}`, "true", TypeBoolean},
		{`${allAttributes("abc", "filename"):contains("world")}`, "false", TypeBoolean},
		{`${anyMatchingAttribute("[ax].*"):contains('bye')}`, "true", TypeBoolean},
		{`${anyMatchingAttribute(".*"):isNull()}`, "false", TypeBoolean},
		{`${allMatchingAttributes("[ax].*"):contains("world")}`, "true", TypeBoolean},
		{`${allMatchingAttributes(".*"):isNull()}`, "false", TypeBoolean},
		{`${allMatchingAttributes("f.*"):count()}`, "1", TypeNumber},
		{`${anyDelineatedValue("${number_list}", ","):contains("5")}`, "true", TypeBoolean},
		{`${anyDelineatedValue("this that and", ","):equals("${literal('this')}")}`, "false", TypeBoolean},
		{`${allDelineatedValues("${number_list}", ","):contains("4")}`, "false", TypeBoolean},
		{`${allDelineatedValues("${word_list}", ","):matches("[a-z]{4}")}`, "true", TypeBoolean},
		{`${allMatchingAttributes("[ax].*"):substringBefore(" "):join("-")}`, "hello-good", TypeString},
		{`${allAttributes("abc", "xyz"):join(" now")}`, "hello world nowgood bye world", TypeString},
		{`${allMatchingAttributes("[ax].*"):substringBefore(" "):count()}`, "2", TypeNumber},
		{`${allDelineatedValues(${number_list}, ","):count()}`, "5", TypeNumber},
		{`${allAttributes("abc", "non-existent-attr", "xyz"):count()}`, "2", TypeNumber},
		{`${allMatchingAttributes(".*"):length():gt(10):count()}`, "3", TypeNumber},
		{`${literal(${allDelineatedValues("aaa,bbb,ccc",","):count()}):plus(1)}`, "4", TypeNumber},
		{`${allDelineatedValues("a,b,,", ","):count()}`, "2", TypeNumber},
		{`${anyMatchingAttribute("zzz.*"):isNull()}`, "true", TypeBoolean},
	})
}

func TestEvalBool(t *testing.T) {
	attrs := guideAttrs()
	cases := map[string]bool{
		"${status:equals('paid')}":  true,
		"${status:equals('other')}": false,
		"${bool}":                   true,
		"TRUE":                      true,
		"${nullAttr:not()}":         false,
		"yes":                       false,
	}
	for src, want := range cases {
		got, err := MustCompile(src).EvalBool(attrs)
		if err != nil || got != want {
			t.Errorf("EvalBool(%q) = %v, %v; want %v", src, got, err, want)
		}
	}
}

func TestJavaDouble(t *testing.T) {
	third := 0.1
	third += 0.2
	if got := formatJavaDouble(third); got != "0.30000000000000004" {
		t.Errorf("formatJavaDouble(0.1+0.2) = %q", got)
	}
	cases := map[float64]string{
		5: "5.0", 1e10: "1.0E10", 1.5e-5: "1.5E-5", 0.001: "0.001", 1234567: "1234567.0",
		12345678: "1.2345678E7", -2.5: "-2.5", 100: "100.0",
		9999999.999: "9999999.999", 1e7: "1.0E7", 0.0001: "1.0E-4",
	}
	for f, want := range cases {
		if got := formatJavaDouble(f); got != want {
			t.Errorf("formatJavaDouble(%v) = %q, want %q", f, got, want)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	cases := []struct{ src, want string }{
		{"${status:equals('a' 'b')}", "position 20 (line 1, column 21): expected ')' after arguments of function 'equals'"},
		{"${filename:nosuch()}", "unknown function 'nosuch'"},
		{"${nosuch()}", "unknown function 'nosuch'"},
		{"${filename:toUpper()", ""}, // no closing brace: literal text, not an error
		{"${5}", "must not start with a digit"},
		{"${}", "expected an attribute name or function"},
		{"${filename:toUpper(}", "expected an argument"},
		{"${filename:toUpper}", "expected '(' after function name 'toUpper'"},
		{"${filename toUpper()}", "expected ':' or '}'"},
		{"${filename:substring()}", "takes 1 to 2 arguments, not 0"},
		{"${filename:toUpper(1)}", "takes 0 arguments, not 1"},
		{"${filename:matches('[a-')}", "invalid regular expression"},
		{"${filename:matches('(?<=a)b')}", "lookahead and lookbehind are not supported"},
		{"${filename:find('(a)\\1')}", "backreference"},
		{"${filename:toDate('yyyy-qq')}", "illegal pattern character 'q'"},
		{"${filename:isEmpty():plus(1)}", "cannot implicitly convert data type Boolean to Number"},
		{"${now():and(true)}", "cannot implicitly convert data type Date to Boolean"},
		{"${allAttributes('a', 'b')}", "does not end in a boolean or reducing function"},
		{"${anyAttribute('a'):toUpper()}", "does not end in a boolean or reducing function"},
		{"${allAttributes('a'):count():plus(1)}", "cannot call function 'plus' on the result of 'count'"},
		{"${anyAttribute('a'):count()}", "may only follow allAttributes"},
		{"${filename:count():plus(1)}", "cannot call function 'plus' on the result of 'count'"},
		{"${filename:now()}", "does not take a subject"},
		{"${toUpper()}", "needs a subject"},
		{"${hostname('x')}", "boolean literal"},
		{"${filename:hash('NOPE')}", "unsupported hash algorithm"},
		{"${filename:equals('x'}", "expected ')' after arguments of function 'equals'"},
		{"${filename:equals('unterminated)}", ""}, // the quote hides the brace: literal text
		{"${literal(99999999999999999999)}", "out of range"},
		{"ok ${a}\n  ${b:equals('x' 'y')}", "line 2, column"},
		{"${filename:jsonPath('$.[')}", "invalid JSON path"},
	}
	for _, c := range cases {
		_, err := Compile(c.src)
		if c.want == "" {
			if err != nil {
				t.Errorf("Compile(%q): unexpected error %v", c.src, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("Compile(%q) succeeded, want error containing %q", c.src, c.want)
			continue
		}
		var ce *Error
		if !errors.As(err, &ce) {
			t.Errorf("Compile(%q) error %T is not *Error", c.src, err)
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("Compile(%q) = %q, want it to contain %q", c.src, err, c.want)
		}
	}
	deep := strings.Repeat("${literal(", 101) + "1" + strings.Repeat(")}", 101)
	if _, err := Compile(deep); err == nil || !strings.Contains(err.Error(), "nested deeper than 100") {
		t.Errorf("deep nesting: %v", err)
	}
	if _, err := Compile(strings.Repeat("${literal(", 100) + "1" + strings.Repeat(")}", 100)); err != nil {
		t.Errorf("nesting at the limit: %v", err)
	}
	if _, err := CompileExpression("text ${a}"); err == nil {
		t.Error("CompileExpression accepted surrounding text")
	}
	if _, err := CompileExpression("${a:equals('b')}"); err != nil {
		t.Errorf("CompileExpression: %v", err)
	}
}

func TestEvaluationErrors(t *testing.T) {
	attrs := guideAttrs()
	attrs["badDate"] = "31-12-2014"
	attrs["regex"] = "[unclosed"
	attrs["selfRef"] = "${selfRef:evaluateELString()}"
	cases := []struct{ src, want string }{
		{"${badDate:toDate('yyyy/MM/dd')}", "cannot parse attribute value as a date"},
		{"${fileSize:divide(0)}", "division by zero"},
		{"${fileSize:mod(0)}", "division by zero"},
		{"${filename:substring(5, 2)}", "larger than ending index"},
		{"${literal('%zz'):urlDecode()}", "illegal hex characters"},
		{"${literal('!!!'):base64Decode()}", "invalid base64"},
		{"${filename:matches(${regex})}", "invalid regular expression"},
		{"${filename:jsonPath('$.a')}", "subject is not valid JSON"},
		{"${selfRef:evaluateELString()}", "nested deeper than 16"},
		{"${literal('abc'):repeat(20000000)}", "result too large"},
		{"${literal('abc'):padLeft(20000000)}", "result too large"},
		{"${filename:replaceAll('a', '$2')}", "no group 2"},
		{"${body:UUID3('not-a-uuid')}", "not a valid UUID"},
		{"${literal(1):toRadix(99)}", "radix must be between 2 and 36"},
		{"${literal('zz'):fromRadix(10)}", "not a number in radix"},
		{"${literal('xx'):format('yyyy')}", "could not implicitly convert input to Date"},
		{"${json:jsonPathAdd('$.firstName', 'x'):jsonPath('$.firstName')}", "subject is empty"},
		{"${literal(9223372036854775807):math('incrementExact')}", "long overflow"},
		{"${literal(1):math('nosuch')}", "no java.lang.Math method"},
		{"${literal(1):getDelimitedField(0)}", "field index must be a number of at least 1"},
		{"${literal(3):repeat(-1)}", "must be > 0"},
		{"${greetings:repeat(0)}", "must be > 0"},
		{"${literal(3):repeat(3, 1)}", "at least the minimum"},
	}
	for _, c := range cases {
		x, err := Compile(c.src)
		if err != nil {
			t.Errorf("Compile(%q): %v", c.src, err)
			continue
		}
		_, err = x.Evaluate(attrs)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Evaluate(%q) error = %v, want it to contain %q", c.src, err, c.want)
		}
		if _, err := x.EvalBool(attrs); err == nil {
			t.Errorf("EvalBool(%q) did not fail", c.src)
		}
	}
	var ee *EvalError
	_, err := MustCompile("${fileSize:divide(0)}").Evaluate(attrs)
	if !errors.As(err, &ee) || ee.Func != "divide" || ee.Offset != 11 {
		t.Errorf("EvalError = %#v", err)
	}
}

func TestRegexTranslation(t *testing.T) {
	cases := []struct{ java, input string }{
		{`\p{Alpha}+`, "abc"},
		{`[\p{Digit}]+`, "123"},
		{`a*+b`, "aaab"},
		{`(?>ab)c`, "abc"},
		{`\h`, " "},
		{`\Qa.b\E`, "a.b"},
		{`(?i)ABC`, "abc"},
		{`[]a]`, "]"},
		{`\0101`, "A"},
		{`\e`, "\x1b"},
		{`\cA`, "\x01"},
	}
	for _, c := range cases {
		re, err := compileJavaRegex(c.java, true)
		if err != nil {
			t.Errorf("compileJavaRegex(%q): %v", c.java, err)
			continue
		}
		if !re.MatchString(c.input) {
			t.Errorf("%q (as %q) does not match %q", c.java, re.String(), c.input)
		}
	}
	for _, bad := range []string{`(?=a)`, `\1`, `[a&&b]`, `(?x)a`, `\G`, `[a[b]]`, `\k<n>`} {
		if _, err := compileJavaRegex(bad, false); err == nil {
			t.Errorf("compileJavaRegex(%q) succeeded", bad)
		}
	}
}

func TestValueAccessors(t *testing.T) {
	if v := StringValue("x"); v.Type() != TypeString || v.String() != "x" || v.IsNull() {
		t.Error("StringValue")
	}
	if n, ok := NumberValue(4).Int(); !ok || n != 4 {
		t.Error("NumberValue")
	}
	if f, ok := DecimalValue(1.5).Float(); !ok || f != 1.5 {
		t.Error("DecimalValue")
	}
	if b, ok := BoolValue(true).Bool(); !ok || !b {
		t.Error("BoolValue")
	}
	ts := time.Date(2020, 1, 2, 3, 4, 5, 6e6, time.UTC)
	if tt, ok := DateValue(ts).Time(); !ok || !tt.Equal(ts) {
		t.Error("DateValue")
	}
	if tt, ok := InstantValue(ts).Time(); !ok || !tt.Equal(ts) {
		t.Error("InstantValue")
	}
	if !Null.IsNull() || Null.String() != "" || Null.Type().String() != "Null" {
		t.Error("Null")
	}
	for _, ty := range []Type{TypeString, TypeNumber, TypeDecimal, TypeDate, TypeBoolean, TypeInstant} {
		if ty.String() == "" || strings.HasPrefix(ty.String(), "Type(") {
			t.Errorf("Type %d has no name", ty)
		}
	}
	x := MustCompile("a ${b}")
	if x.Source() != "a ${b}" || !x.HasExpressions() || x.Type() != TypeString {
		t.Error("Expr accessors")
	}
	if MustCompile("${literal(1):plus(1)}").Type() != TypeNumber {
		t.Error("static type of plus")
	}
}

// TestConcurrentEvaluation runs one compiled expression from many goroutines
// (run with -race).
func TestConcurrentEvaluation(t *testing.T) {
	x := MustCompile("${filename:matches(${pattern}):ifElse(${filename:toUpper()}, 'no')}-${nextInt()}")
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			attrs := MapLookup{"filename": "abc", "pattern": []string{"a.*", "b.*"}[g%2]}
			for i := 0; i < 200; i++ {
				s, err := x.EvalString(attrs)
				if err != nil || !(strings.HasPrefix(s, "ABC-") || strings.HasPrefix(s, "no-")) {
					t.Errorf("got %q, %v", s, err)
					return
				}
			}
		}(g)
	}
	wg.Wait()
}

func TestNoPanicOnNilLookup(t *testing.T) {
	for _, src := range []string{"${a}", "${anyMatchingAttribute('.*'):isNull()}", "x${a:length()}"} {
		if _, err := MustCompile(src).Evaluate(nil); err != nil && !strings.Contains(err.Error(), "cannot list") {
			t.Errorf("%s: %v", src, err)
		}
	}
}

// plainLookup cannot enumerate its attributes.
type plainLookup map[string]string

func (p plainLookup) Get(k string) (string, bool) { v, ok := p[k]; return v, ok }

func TestMatchingNeedsRanger(t *testing.T) {
	_, err := MustCompile("${anyMatchingAttribute('.*'):isNull()}").Evaluate(plainLookup{"a": "b"})
	if err == nil || !strings.Contains(err.Error(), "cannot list attribute names") {
		t.Errorf("err = %v", err)
	}
}
