package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/connectplus/connectplus/internal/testenv"
)

// serverBin is the connectplus binary built once for the package.
var serverBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "cpe2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	serverBin = filepath.Join(dir, "connectplus")
	cmd := exec.Command("go", "build", "-o", serverBin, "github.com/connectplus/connectplus/cmd/connectplus")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: building connectplus:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	// As testenv.Main, but the binary is removed before exiting.
	code := m.Run()
	testenv.Shutdown()
	os.RemoveAll(dir)
	os.Exit(code)
}
