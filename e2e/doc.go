// Package e2e runs the real `connectplus server` binary against a real
// OpenSSH server (internal/testenv) and the Capillary API sandbox, and drives
// it only through its REST API: maker-checker approval, Extension
// Configurations, schedules, run-now, pause, stop, version switches and a
// kill -9 in the middle of a file.
//
// It holds only tests; nothing imports it.
package e2e
