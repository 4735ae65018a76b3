// Package dataflow is the dataflow document: its types, the YAML/JSON codec
// (with source positions), validation against the block registry, the JSON
// Schema generated from block specs, and import of Connect+'s own block JSON.
// It does no I/O beyond decoding bytes it is given.
package dataflow

// Document is one dataflow (one version's content).
type Document struct {
	Name        string   `json:"name" yaml:"name"`
	Description string   `json:"description,omitempty" yaml:"description,omitempty"`
	Tags        []string `json:"tags,omitempty" yaml:"tags,omitempty"`
	Trigger     *Trigger `json:"trigger,omitempty" yaml:"trigger,omitempty"`
	Blocks      []Block  `json:"blocks" yaml:"blocks"`

	// positions maps a path (e.g. "blocks[2].config.fileRegex") to its
	// line:column in the source text (YAML or JSON; "" is the document
	// itself); empty for built documents.
	positions map[string]Position
}

// Trigger is the schedule of a dataflow. Exactly one of Cron or Preset is set;
// a dataflow without a trigger runs when asked (run now, connectplus run).
type Trigger struct {
	// Cron is a Quartz cron expression (6–7 fields), e.g. "0 0/5 * * * ?".
	Cron string `json:"cron,omitempty" yaml:"cron,omitempty"`
	// Preset is a UI preset: "every N minutes", "hourly at :MM", "daily at HH:MM",
	// "weekdays at HH:MM", "weekly on DAY at HH:MM".
	Preset string `json:"preset,omitempty" yaml:"preset,omitempty"`
	// TimeZone is an IANA zone; empty means the organisation's zone.
	TimeZone string `json:"timeZone,omitempty" yaml:"timeZone,omitempty"`
}

// Block is one block of the graph.
type Block struct {
	Type   string         `json:"type" yaml:"type"`
	Name   string         `json:"name" yaml:"name"`
	Config map[string]any `json:"config,omitempty" yaml:"config,omitempty"`
	// Relations are the outgoing edges.
	Relations []Relation `json:"relations,omitempty" yaml:"relations,omitempty"`
	Position  *Point     `json:"position,omitempty" yaml:"position,omitempty"`
	// Disabled blocks pass units through untouched (Connect+ "isEnabled").
	Disabled bool `json:"disabled,omitempty" yaml:"disabled,omitempty"`
}

// Relation is an edge to another block. On is "success" (default), "failure",
// "filtered", a block-specific relation name, or a NiFi EL condition
// ("${status:equals('paid')}") evaluated on the unit's attributes.
type Relation struct {
	To string `json:"to" yaml:"to"`
	On string `json:"on,omitempty" yaml:"on,omitempty"`
}

// Point is a canvas position.
type Point struct {
	X float64 `json:"x" yaml:"x"`
	Y float64 `json:"y" yaml:"y"`
}

// Position is a place in a YAML source.
type Position struct {
	Line   int `json:"line"`
	Column int `json:"column"`
}

// Problem is one validation finding.
type Problem struct {
	Path    string    `json:"path"`
	Message string    `json:"message"`
	Pos     *Position `json:"position,omitempty"`
	// Block names the block a problem under blocks[i] belongs to.
	Block string `json:"block,omitempty"`
	// ExprPos locates the problem inside the field's expression (NiFi EL,
	// JSLT): line and column within the value, counted from 1:1.
	ExprPos *Position `json:"exprPosition,omitempty"`
}

func (p Problem) Error() string {
	loc := p.Path
	if p.Block != "" {
		loc += " (" + p.Block + ")"
	}
	if p.Pos != nil {
		loc = itoa(p.Pos.Line) + ":" + itoa(p.Pos.Column) + ": " + loc
	}
	if loc == "" {
		return p.Message
	}
	return loc + ": " + p.Message
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	neg := i < 0
	if neg {
		i = -i
	}
	var b [20]byte
	n := len(b)
	for i > 0 {
		n--
		b[n] = byte('0' + i%10)
		i /= 10
	}
	if neg {
		n--
		b[n] = '-'
	}
	return string(b[n:])
}

// BlockByName returns the block with the given name.
func (d *Document) BlockByName(name string) (*Block, int) {
	for i := range d.Blocks {
		if d.Blocks[i].Name == name {
			return &d.Blocks[i], i
		}
	}
	return nil, -1
}

// PositionOf returns the source position recorded for path, if any.
func (d *Document) PositionOf(path string) (Position, bool) {
	p, ok := d.positions[path]
	return p, ok
}

// SetPositions records source positions (used by the YAML decoder).
func (d *Document) SetPositions(m map[string]Position) { d.positions = m }

// RelationOn returns the relation name of an edge, defaulting to success.
func (r Relation) RelationOn() string {
	if r.On == "" {
		return "success"
	}
	return r.On
}
