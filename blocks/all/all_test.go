package all

import (
	"testing"

	"github.com/connectplus/connectplus/dataflow"
)

// TestCatalogue checks the shipped catalogue against Connect+'s block list
// and that every spec documents itself.
func TestCatalogue(t *testing.T) {
	r := Registry()
	for _, typ := range []string{
		"cron_trigger", "sftp_read", "sftp_write", "s3_read", "s3_write", "convert_csv_to_json", "convert_csv_to_xml",
		"decrypt_content", "encrypt_content", "databricks_validation", "http_write", "filter_on_condition",
		"filter_on_condition_hidden", "two_join", "three_join", "four_join", "hash_csv_columns",
		"databricks_job_trigger_and_status_check", "jslt_transform", "ok_file_3", "split_json", "transform_header_data",
		"credential_aware_ftp_listing", "arya_call", "merge_content", "fetch_related_files", "decrypt_related_files",
		"file_join", "webhook_write", "json_to_csv_converter", "file_read", "file_write", "validate_records",
		"jolt_transform", "http_read", "neo_transformer", "neo_transformer_v2", "script_transform",
		"iris_ftp_audience_refresh",
		"kafka_topic_read", "event_notification_read", "kafka_topic_write", "event_publish_kafka",
		"diff_tool", "diff_tool_test_and_control",
	} {
		if _, ok := r.Lookup(typ); !ok {
			t.Errorf("block type %s is not registered", typ)
		}
	}
	for _, legacy := range []string{"sftp_pull", "s3_pull", "csv_json_neo_transformer", "cron_base_trigger", "neo_transformer_iteration",
		"kafka_connect_to_source", "kafka_connect_to_source_tracing", "kafka_connect_to_destination"} {
		if _, ok := r.Lookup(legacy); !ok {
			t.Errorf("legacy type %s does not map to a Gen-2 block", legacy)
		}
	}
	for _, s := range r.Specs() {
		if s.Description == "" || s.Category == "" || s.Input == "" || s.Output == "" {
			t.Errorf("%s: spec lacks description, category or kinds", s.Type)
		}
		for _, f := range s.Fields {
			if f.Label == "" {
				t.Errorf("%s.%s: field without label", s.Type, f.Key)
			}
			if f.Secret && f.Default != "" {
				t.Errorf("%s.%s: a secret must not have a default", s.Type, f.Key)
			}
		}
	}
	if _, err := dataflow.Schema(r); err != nil {
		t.Fatal(err)
	}
}
