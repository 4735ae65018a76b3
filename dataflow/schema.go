package dataflow

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"github.com/connectplus/connectplus/block"
)

// SchemaID is the $id of the generated schema.
const SchemaID = "https://connectplus.dev/schemas/dataflow.json"

// Schema returns a JSON Schema (draft 2020-12) for dataflow documents,
// generated from the block specs in reg: each block is one branch of a
// oneOf keyed by its type (a const, or an enum with the legacy Gen-1 names),
// with its config properties, required keys, defaults and descriptions.
// Connect+ specifics are kept as annotations editors can use:
// x-advanced, x-secret, x-supportsExpressions, x-fromConfigs.
//
// The schema is a strict subset of what Validate accepts in one respect:
// booleans as strings are "true"/"false" only. Graph rules (relations,
// cycles, kinds) are Validate's alone.
func Schema(reg *block.Registry) ([]byte, error) {
	if reg == nil {
		reg = block.NewRegistry()
	}
	defs := omap{
		{"configRef", omap{
			{"description", "A reference to an Extension Configuration entry by name."},
			{"type", "object"},
			{"properties", omap{{"$config", omap{{"type", "string"}, {"pattern", `^[A-Za-z0-9_.\-]{1,128}$`}}}}},
			{"required", []any{"$config"}},
			{"additionalProperties", false},
		}},
		{"blockName", omap{
			{"description", "Unique in the dataflow; letters, digits and underscores."},
			{"type", "string"},
			{"pattern", `^[A-Za-z0-9_]+$`},
			{"maxLength", int64(MaxBlockName)},
		}},
		{"relation", omap{
			{"oneOf", []any{
				omap{{"description", "Short form: the target block's name, on success."}, {"$ref", "#/$defs/blockName"}},
				omap{
					{"type", "object"},
					{"properties", omap{
						{"to", omap{{"$ref", "#/$defs/blockName"}}},
						{"on", omap{{"type", "string"}, {"description", "success (default), failure, filtered, a block-specific relation, or a NiFi EL condition ${...}."}}},
					}},
					{"required", []any{"to"}},
					{"additionalProperties", false},
				},
			}},
		}},
		{"relations", omap{{"type", "array"}, {"maxItems", int64(MaxRelationsBlock)}, {"items", omap{{"$ref", "#/$defs/relation"}}}}},
		{"position", omap{
			{"type", "object"},
			{"properties", omap{{"x", omap{{"type", "number"}}}, {"y", omap{{"type", "number"}}}}},
			{"additionalProperties", false},
		}},
	}
	var branches []any
	for _, s := range reg.Specs() {
		name := "block_" + s.Type
		def, err := blockSchema(s)
		if err != nil {
			return nil, err
		}
		defs = append(defs, kv{name, def})
		branches = append(branches, omap{{"$ref", "#/$defs/" + name}})
	}
	blockItems := omap{
		{"type", "object"},
		{"required", []any{"type", "name"}},
	}
	if len(branches) > 0 {
		blockItems = append(blockItems, kv{"oneOf", branches})
	}
	defs = append(defs, kv{"block", blockItems})
	root := omap{
		{"$schema", "https://json-schema.org/draft/2020-12/schema"},
		{"$id", SchemaID},
		{"title", "Connect+ dataflow"},
		{"description", "A dataflow: a graph of blocks that pick up, transform and deliver data, and its schedule."},
		{"type", "object"},
		{"properties", omap{
			{"name", omap{{"type", "string"}, {"minLength", int64(1)}, {"maxLength", int64(MaxNameLength)}, {"pattern", dataflowNameRE.String()}}},
			{"description", omap{{"type", "string"}, {"maxLength", int64(MaxDescription)}}},
			{"tags", omap{
				{"type", "array"}, {"maxItems", int64(MaxTags)}, {"uniqueItems", true},
				{"items", omap{{"type", "string"}, {"minLength", int64(1)}, {"maxLength", int64(MaxTagLength)}}},
			}},
			{"trigger", omap{
				{"type", "object"},
				{"description", "The schedule; leave out for a dataflow that runs only when asked."},
				{"properties", omap{
					{"cron", omap{{"type", "string"}, {"description", "Quartz cron, 6–7 fields, e.g. \"0 0/5 * * * ?\"."}}},
					{"preset", omap{{"type", "string"}, {"description", "\"every N minutes\", \"hourly at :MM\", \"daily at HH:MM\", \"weekdays at HH:MM\", \"weekly on DAY at HH:MM\"."}}},
					{"timeZone", omap{{"type", "string"}, {"description", "IANA time zone; empty means the organisation's."}}},
				}},
				{"oneOf", []any{omap{{"required", []any{"cron"}}}, omap{{"required", []any{"preset"}}}}},
				{"additionalProperties", false},
			}},
			{"blocks", omap{{"type", "array"}, {"minItems", int64(1)}, {"maxItems", int64(MaxBlocks)}, {"items", omap{{"$ref", "#/$defs/block"}}}}},
		}},
		{"required", []any{"name", "blocks"}},
		{"additionalProperties", false},
		{"$defs", defs},
	}
	var buf bytes.Buffer
	if err := writeJSON(&buf, root, 0); err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}

func blockSchema(s *block.Spec) (omap, error) {
	var typ omap
	if len(s.LegacyTypes) == 0 {
		typ = omap{{"const", s.Type}}
	} else {
		names := []any{s.Type}
		for _, l := range s.LegacyTypes {
			names = append(names, l)
		}
		typ = omap{{"enum", names}, {"description", "Legacy Gen-1 names are accepted and read as " + s.Type + "."}}
	}
	props := omap{}
	var required []any
	for i := range s.Fields {
		f := &s.Fields[i]
		fs, err := fieldSchema(f)
		if err != nil {
			return nil, fmt.Errorf("schema: block %s field %s: %w", s.Type, f.Key, err)
		}
		props = append(props, kv{f.Key, fs})
		for _, a := range f.Aliases {
			alias := omap{{"deprecated", true}, {"description", "Legacy spelling of " + f.Key + "."}}
			for _, e := range fs {
				if e.k != "title" && e.k != "description" {
					alias = append(alias, e)
				}
			}
			props = append(props, kv{a, alias})
		}
		if f.Required && f.Default == "" {
			required = append(required, f.Key)
		}
	}
	config := omap{{"type", "object"}, {"properties", props}, {"additionalProperties", false}}
	if len(required) > 0 {
		config = append(config, kv{"required", required})
	}
	blockRequired := []any{"type", "name"}
	if len(required) > 0 {
		blockRequired = append(blockRequired, "config")
	}
	title := s.Label
	if s.Deprecated {
		title += " (deprecated)"
	}
	def := omap{
		{"title", title},
		{"description", s.Description},
		{"type", "object"},
		{"properties", omap{
			{"type", typ},
			{"name", omap{{"$ref", "#/$defs/blockName"}}},
			{"config", config},
			{"relations", omap{{"$ref", "#/$defs/relations"}}},
			{"position", omap{{"$ref", "#/$defs/position"}}},
			{"disabled", omap{{"type", "boolean"}, {"description", "A disabled block passes units through untouched."}}},
		}},
		{"required", blockRequired},
		{"additionalProperties", false},
		{"x-class", string(s.Class)},
		{"x-input", string(s.Input)},
		{"x-output", string(s.Output)},
	}
	if s.Deprecated {
		def = append(def, kv{"deprecated", true})
	}
	return def, nil
}

// fieldSchema maps a field to its schema.
func fieldSchema(f *block.Field) (omap, error) {
	s := omap{{"title", f.Label}}
	if f.Description != "" {
		s = append(s, kv{"description", f.Description})
	}
	value := valueSchema(f)
	nullable := !f.Required
	switch {
	case f.Secret:
		// Secrets are never inline: a reference, or empty / "null" (not set).
		alts := []any{omap{{"$ref", "#/$defs/configRef"}}, omap{{"enum", []any{"", "null"}}}}
		if nullable {
			alts = append(alts, omap{{"type", "null"}})
		}
		s = append(s, kv{"anyOf", alts})
	default:
		alts := value
		if f.FromConfigs {
			alts = append(alts, omap{{"$ref", "#/$defs/configRef"}})
		}
		if nullable {
			alts = append(alts, omap{{"type", "null"}})
		}
		if len(alts) == 1 {
			s = append(s, alts[0].(omap)...)
		} else {
			s = append(s, kv{"anyOf", alts})
		}
	}
	if f.Default != "" {
		d, err := typedDefault(f)
		if err != nil {
			return nil, err
		}
		s = append(s, kv{"default", d})
	}
	if f.Example != "" {
		s = append(s, kv{"examples", []any{f.Example}})
	}
	s = append(s, kv{"x-type", string(f.Type)})
	if f.Advanced {
		s = append(s, kv{"x-advanced", true})
	}
	if f.Secret {
		s = append(s, kv{"x-secret", true})
	}
	if f.SupportsExpressions {
		s = append(s, kv{"x-supportsExpressions", true})
	}
	if l := f.Language(); l != block.LangNone {
		s = append(s, kv{"x-lang", string(l)})
	}
	if f.FromConfigs {
		s = append(s, kv{"x-fromConfigs", true})
	}
	return s, nil
}

// valueSchema returns the alternatives an inline value may take. Connect+
// stores most values as strings, so numbers and booleans are also accepted
// in their string form.
func valueSchema(f *block.Field) []any {
	bounds := func(m omap) omap {
		if f.Min != nil {
			m = append(m, kv{"minimum", normNumber(*f.Min, nil)})
		}
		if f.Max != nil {
			m = append(m, kv{"maximum", normNumber(*f.Max, nil)})
		}
		return m
	}
	switch f.Type {
	case block.TypeInt:
		return []any{bounds(omap{{"type", "integer"}}), omap{{"type", "string"}, {"pattern", `^\s*-?[0-9]+(\.0*)?\s*$|^$`}}}
	case block.TypeNumber:
		return []any{bounds(omap{{"type", "number"}}), omap{{"type", "string"}, {"pattern", `^\s*-?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?\s*$|^$`}}}
	case block.TypeBool:
		return []any{omap{{"type", "boolean"}}, omap{{"enum", []any{"true", "false"}}}}
	case block.TypeEnum:
		vals := make([]any, len(f.Enum))
		for i, e := range f.Enum {
			vals[i] = e
		}
		return []any{omap{{"enum", vals}}}
	case block.TypeJSON:
		return []any{omap{{"type", []any{"object", "array"}}}, omap{{"type", "string"}}}
	case block.TypeList:
		return []any{omap{{"type", "string"}}, omap{{"type", "array"}, {"items", omap{{"type", "string"}}}}}
	}
	// string, text, regex, cron
	return []any{omap{{"type", "string"}}}
}

func typedDefault(f *block.Field) (any, error) {
	switch f.Type {
	case block.TypeBool:
		b, err := block.ParseBool(f.Default)
		if err != nil {
			return nil, fmt.Errorf("default: %w", err)
		}
		return b, nil
	case block.TypeInt, block.TypeNumber:
		if n, err := strconv.ParseFloat(strings.TrimSpace(f.Default), 64); err == nil {
			return normalize(n, 0)
		}
	}
	return f.Default, nil
}
