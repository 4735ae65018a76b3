package dataflow

import (
	"testing"

	"github.com/connectplus/connectplus/block"
)

func newNothing(*block.Config, *block.Env) (block.Block, error) { return struct{}{}, nil }

// testRegistry holds fake specs shaped like the real ones: a source emitting
// files, a converter from files to records, record executors, and file and
// record destinations.
func testRegistry(t testing.TB) *block.Registry {
	t.Helper()
	reg := block.NewRegistry()
	err := reg.Register(
		&block.Spec{
			Type: "sftp_read", Label: "SFTP (Read)", Class: block.ClassSource, Category: "source",
			Description: "Reads files from SFTP.", LegacyTypes: []string{"sftp_pull", "fetch_sftp"},
			Input: block.KindNone, Output: block.KindFile, New: newNothing,
			Fields: []block.Field{
				{Key: "hostname", Label: "Hostname", Type: block.TypeString, Required: true, FromConfigs: true},
				{Key: "username", Label: "Username", Type: block.TypeString, Required: true, FromConfigs: true},
				{Key: "password", Label: "Password", Type: block.TypeString, Secret: true},
				{Key: "sourceDirectory", Label: "Source Directory", Type: block.TypeString, Required: true, Example: "/in"},
				{Key: "fileRegex", Label: "Filename Pattern", Type: block.TypeRegex, Required: true, Default: ".*.csv"},
				{Key: "port", Label: "Port", Type: block.TypeInt, Default: "22", Min: block.Bound(1), Max: block.Bound(65535), Advanced: true},
				{Key: "unzipFiles", Label: "Unzip Files", Type: block.TypeBool, Default: "false"},
				{Key: "File Delimiter", Label: "File Delimiter", Type: block.TypeString, Default: ","},
				{Key: "Report Status Code", Label: "Report Status Code", Type: block.TypeEnum, Enum: []string{"all", "success", "failure"}, Default: "all", Advanced: true},
			},
		},
		&block.Spec{
			Type: "convert_csv_to_json", Label: "Transform (CSV to JSON)", Class: block.ClassExecutor, Category: "transform",
			Description: "CSV to JSON records.", LegacyTypes: []string{"csv_json_neo_transformer"},
			Input: block.KindFile, Output: block.KindRecords, New: newNothing,
			Fields: []block.Field{
				{Key: "groupSize", Label: "Grouping Limit", Type: block.TypeInt, Default: "1", Min: block.Bound(1), Max: block.Bound(1000), Aliases: []string{"Group size"}},
				{Key: "sortHeaders", Label: "Sort headers", Type: block.TypeList},
			},
		},
		&block.Spec{
			Type: "jslt_transform", Label: "JSLT", Class: block.ClassExecutor, Category: "transform",
			Description: "JSLT.", Input: block.KindRecords, Output: block.KindRecords, New: newNothing,
			Fields: []block.Field{{Key: "jslt", Label: "JSLT", Type: block.TypeText, Required: true}},
		},
		&block.Spec{
			Type: "filter_on_condition", Label: "Filter", Class: block.ClassExecutor, Category: "transform",
			Description: "Filter.", Input: block.KindRecords, Output: block.KindRecords, New: newNothing,
			Fields: []block.Field{{Key: "filterCondition", Label: "Condition", Type: block.TypeString, Required: true, SupportsExpressions: true}},
		},
		&block.Spec{
			Type: "http_write", Label: "API request", Class: block.ClassExecutor, Category: "destination",
			Description: "Calls an API.", Input: block.KindRecords, Output: block.KindRecords, New: newNothing,
			LegacyTypes: []string{"intouch_transaction_v2", "neo_transformer"},
			Relations:   []string{"retry_exhausted"},
			Fields: []block.Field{
				{Key: "apiBaseUrl", Label: "API Base URL", Type: block.TypeString, Required: true, FromConfigs: true},
				{Key: "apiEndPoint", Label: "API Endpoint", Type: block.TypeString, Required: true},
				{Key: "method", Label: "Method", Type: block.TypeEnum, Enum: []string{"GET", "POST", "PUT"}, Default: "POST"},
				{Key: "clientSecret", Label: "Client secret", Type: block.TypeString, Secret: true},
				{Key: "parsePathMap", Label: "Parse path map", Type: block.TypeJSON},
				{Key: "maxRetries", Label: "Max Retries", Type: block.TypeInt, Default: "3"},
				{Key: "bulk", Label: "Bulk", Type: block.TypeBool, Default: "false"},
			},
		},
		&block.Spec{
			Type: "decrypt_content", Label: "PGP Decrypt", Class: block.ClassExecutor, Category: "security",
			Description: "Decrypts.", Input: block.KindFile, Output: block.KindFile, New: newNothing,
			LegacyTypes: []string{"optional_decrypt_content", "decrypt"},
		},
		&block.Spec{
			Type: "sftp_write", Label: "SFTP (Write)", Class: block.ClassExecutor, Category: "destination",
			Description: "Writes files.", Input: block.KindFile, Output: block.KindFile, New: newNothing, Deprecated: false,
			Fields: []block.Field{{Key: "remotePath", Label: "Remote path", Type: block.TypeString, Required: true}},
		},
	)
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

// validYAML is the canonical Gen-2 ingestion chain (spec §3.0).
const validYAML = `name: Bulk add customers
description: SFTP to the customers API
tags: [customers, daily]
trigger:
  cron: "0 0/5 * * * ?"
  timeZone: Asia/Kolkata
blocks:
  - type: sftp_read
    name: read
    config:
      hostname: {$config: sftp_host}
      username: {$config: sftp_user}
      password: {$config: sftp_password}
      sourceDirectory: /in
      fileRegex: 'customers_.*\.csv'
      port: 22
      unzipFiles: false
    relations: [convert]
    position: {x: 0, y: 0}
  - type: convert_csv_to_json
    name: convert
    config:
      groupSize: 10
      sortHeaders: [firstname, lastname]
    relations:
      - to: payload
  - type: jslt_transform
    name: payload
    config:
      jslt: |
        [ for (.) { "profiles": [ { "firstName": .firstname } ] } ]
    relations:
      - only_paid
  - type: filter_on_condition
    name: only_paid
    config:
      filterCondition: "${status:equals('paid')}"
    relations:
      - to: post
      - to: post_vip
        on: "${tier:equals('vip')}"
  - type: http_write
    name: post
    config:
      apiBaseUrl: {$config: api_host}
      apiEndPoint: /v2/customers/bulk
      method: POST
      clientSecret: {$config: oauth_secret}
      parsePathMap: {status_code: "$.errors.*.code"}
  - type: http_write
    name: post_vip
    disabled: true
    config:
      apiBaseUrl: https://vip.example.com
      apiEndPoint: /v2/customers
`
