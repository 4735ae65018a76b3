// Package docsearch is the product-documentation search of the assistant
// and of the MCP search_docs tool: the bundled docs (docs/*.md), the block
// docs generated from the block specs and the template docs, cut into
// passages at their headings and ranked by BM25 over a small, predictable
// tokeniser (lower case, words split at punctuation and at "_", plural and
// verb endings trimmed). An Index is built once and read concurrently; it
// has no mutable state after New.
package docsearch

import (
	"bufio"
	"io/fs"
	"math"
	"path"
	"sort"
	"strings"
	"unicode"
)

// BM25 parameters (the usual values).
const (
	k1 = 1.2
	b  = 0.75
	// headingWeight counts a passage's heading words this many times: a
	// question that names a section should find that section first.
	headingWeight = 3
	// maxPassage bounds a passage; longer sections are cut at paragraph
	// boundaries so a hit is a readable excerpt, not a whole document.
	maxPassage = 1800
	// MaxResults bounds one search.
	MaxResults = 10
)

// Doc is one document to index.
type Doc struct {
	// Path names it in results: docs/mcp.md, blocks/sftp_read,
	// templates/bulk_add_customers.
	Path string
	// Title is the document's title, the first heading of its passages.
	Title string
	// Text is Markdown, or with Plain, text that is one section (block
	// and template docs, whose "#" lines are comments, not headings).
	Text  string
	Plain bool
}

// Passage is one searchable piece of a document.
type Passage struct {
	Path string `json:"path"`
	// Heading is the section's heading path: "Title > Section > Sub".
	Heading string `json:"heading"`
	Text    string `json:"text"`
}

// Hit is a ranked passage.
type Hit struct {
	Passage
	Score float64 `json:"score"`
}

// Index is a BM25 index of passages.
type Index struct {
	passages []Passage
	// tf holds each passage's term frequencies (headings weighted).
	tf     []map[string]int
	length []int
	df     map[string]int
	avgLen float64
}

// New indexes docs.
func New(docs []Doc) *Index {
	ix := &Index{df: map[string]int{}}
	total := 0
	for _, d := range docs {
		for _, p := range split(d) {
			tf := map[string]int{}
			n := 0
			for _, t := range Tokens(p.Heading) {
				tf[t] += headingWeight
				n += headingWeight
			}
			for _, t := range Tokens(p.Text) {
				tf[t]++
				n++
			}
			if n == 0 {
				continue
			}
			for t := range tf {
				ix.df[t]++
			}
			ix.passages = append(ix.passages, p)
			ix.tf = append(ix.tf, tf)
			ix.length = append(ix.length, n)
			total += n
		}
	}
	if len(ix.passages) > 0 {
		ix.avgLen = float64(total) / float64(len(ix.passages))
	}
	return ix
}

// Len is the number of passages.
func (ix *Index) Len() int { return len(ix.passages) }

// Search returns the best passages for query, at most limit (1 to
// MaxResults; other values mean 5), best first; passages matching no
// query term are never returned.
func (ix *Index) Search(query string, limit int) []Hit {
	if limit <= 0 || limit > MaxResults {
		limit = 5
	}
	terms := map[string]bool{}
	for _, t := range Tokens(query) {
		terms[t] = true
	}
	n := float64(len(ix.passages))
	var hits []Hit
	for i, tf := range ix.tf {
		score := 0.0
		for t := range terms {
			f := float64(tf[t])
			if f == 0 {
				continue
			}
			df := float64(ix.df[t])
			idf := math.Log(1 + (n-df+0.5)/(df+0.5))
			score += idf * f * (k1 + 1) / (f + k1*(1-b+b*float64(ix.length[i])/ix.avgLen))
		}
		if score > 0 {
			hits = append(hits, Hit{Passage: ix.passages[i], Score: math.Round(score*1000) / 1000})
		}
	}
	sort.SliceStable(hits, func(i, j int) bool {
		if hits[i].Score != hits[j].Score {
			return hits[i].Score > hits[j].Score
		}
		if hits[i].Path != hits[j].Path {
			return hits[i].Path < hits[j].Path
		}
		return hits[i].Heading < hits[j].Heading
	})
	if len(hits) > limit {
		hits = hits[:limit]
	}
	return hits
}

// stop words carry no meaning for ranking (read only).
var stop = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`a an and are as at be but by can do does for from has have how i if in into is it its
		of on or so that the their then there these this to was what when where which who why will with you your`) {
		m[w] = true
	}
	return m
}()

// Tokens splits text into index terms: lower-case runs of letters and
// digits; a word joined by "_" or "-" (sftp_read, maker-checker) gives
// its parts and the whole; stop words go; endings are trimmed by stem.
func Tokens(text string) []string {
	var out []string
	emit := func(w string) {
		if w == "" || stop[w] {
			return
		}
		out = append(out, stem(w))
	}
	var word, compound strings.Builder
	parts := 0
	flush := func() {
		if word.Len() > 0 {
			emit(word.String())
			parts++
			word.Reset()
		}
	}
	end := func() {
		flush()
		if parts > 1 {
			emit(strings.NewReplacer("_", "", "-", "").Replace(compound.String()))
		}
		compound.Reset()
		parts = 0
	}
	for _, r := range text {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			r = unicode.ToLower(r)
			word.WriteRune(r)
			compound.WriteRune(r)
		case (r == '_' || r == '-') && word.Len() > 0:
			flush()
			compound.WriteRune(r)
		default:
			end()
		}
	}
	end()
	return out
}

// stem trims common English endings so "approvals", "approved" and
// "approving" meet at "approv". It is deliberately crude: both the index
// and the query go through it, so it only has to be consistent.
func stem(w string) string {
	if len(w) <= 3 {
		return w
	}
	for _, suf := range []string{"ations", "ation", "ings", "ing", "ies", "als", "al", "ed", "es", "s", "e"} {
		if strings.HasSuffix(w, suf) && len(w)-len(suf) >= 3 {
			w = strings.TrimSuffix(w, suf)
			if suf == "ies" {
				w += "i"
			}
			break
		}
	}
	return w
}

// split cuts a Markdown document into passages at its headings (#…####),
// outside fenced code blocks; a long section is cut at blank lines. A
// passage's heading is its document's title (its "# " heading, else
// Doc.Title) and the section headings above it.
func split(d Doc) []Passage {
	var out []Passage
	var levels [4]string
	levels[0] = d.Title
	var body strings.Builder
	emit := func() {
		text := strings.TrimSpace(body.String())
		body.Reset()
		if text == "" {
			return
		}
		var hs []string
		for _, h := range levels {
			if h != "" {
				hs = append(hs, h)
			}
		}
		heading := strings.Join(hs, " > ")
		for _, chunk := range chunks(text) {
			out = append(out, Passage{Path: d.Path, Heading: heading, Text: chunk})
		}
	}
	fenced := false
	sc := bufio.NewScanner(strings.NewReader(d.Text))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fenced = !fenced
		}
		if !fenced && !d.Plain && strings.HasPrefix(line, "#") {
			level := len(line) - len(strings.TrimLeft(line, "#"))
			if level <= len(levels) && len(line) > level && line[level] == ' ' {
				if title := strings.TrimSpace(line[level:]); title != "" {
					emit()
					levels[level-1] = title
					for i := level; i < len(levels); i++ {
						levels[i] = ""
					}
					continue
				}
			}
		}
		body.WriteString(line)
		body.WriteByte('\n')
	}
	emit()
	return out
}

// chunks cuts text into pieces of at most maxPassage bytes at blank lines
// (a paragraph longer than that is one piece of its own).
func chunks(text string) []string {
	if len(text) <= maxPassage {
		return []string{text}
	}
	var out []string
	var cur strings.Builder
	for _, para := range strings.Split(text, "\n\n") {
		if cur.Len() > 0 && cur.Len()+len(para)+2 > maxPassage {
			out = append(out, strings.TrimSpace(cur.String()))
			cur.Reset()
		}
		cur.WriteString(para)
		cur.WriteString("\n\n")
	}
	if s := strings.TrimSpace(cur.String()); s != "" {
		out = append(out, s)
	}
	return out
}

// FromFS reads every *.md file at the top of fsys as a Doc named
// prefix/<file>, titled by its file name (its first "# " heading takes
// over).
func FromFS(fsys fs.FS, prefix string) ([]Doc, error) {
	names, err := fs.Glob(fsys, "*.md")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var out []Doc
	for _, n := range names {
		b, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, err
		}
		out = append(out, Doc{Path: path.Join(prefix, n), Title: strings.TrimSuffix(n, ".md"), Text: string(b)})
	}
	return out, nil
}
