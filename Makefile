# Connect+ — build, test, benchmark.
GO      ?= go
BIN     := bin/connectplus
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

.PHONY: build test test-deps check bench bench-compare bench-jsonl bench-server bench-big pgo-profile demo clean web web-deps web-check web-test mcp-node-deps

build:
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/connectplus

# test installs the real servers the integration tests need (OpenSSH, FTP,
# versitygw, PostgreSQL, GnuPG) when they are missing, then runs every test.
test: test-deps web-test mcp-node-deps
	# -p 1: several suites measure time (rate limits, Retry-After, schedules)
	# and start real servers; running them one at a time keeps them honest.
	$(GO) test -p 1 -count=1 -timeout 45m ./...

test-deps:
	bash .ci/install-deps.sh --with-chromium

# mcp-node-deps installs the official TypeScript MCP SDK (pinned in
# mcp/node-test/package-lock.json) that cli/mcpcmd's TestNodeSDK drives the
# stdio and HTTP MCP servers with.
mcp-node-deps:
	cd mcp/node-test && npm ci --no-audit --no-fund

# The web UI (web/): its production build is committed in webui/dist and
# embedded in the binary, so `go run` needs no Node step.
web-deps:
	cd web && npm ci --no-audit --no-fund

web: web-deps
	cd web && npm run build

# web-check rebuilds the UI and fails when the committed bundle differs
# from the source, or when the initial JS is over its budget.
web-check: web
	@git diff --exit-code --stat -- webui/dist || { echo "webui/dist is stale: run 'make web' and commit it"; exit 1; }
	@untracked=$$(git ls-files --others --exclude-standard -- webui/dist); if [ -n "$$untracked" ]; then echo "webui/dist has uncommitted files: $$untracked"; exit 1; fi
	cd web && npm run budget

web-test: web-deps
	cd web && npm test

# check is what CI runs before the tests: formatting, vet, tidy modules.
check: web-check
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) mod tidy && git diff --exit-code go.mod go.sum

bench: build
	bash bench/run.sh

# bench-compare runs the flagship API job side by side: ours, the hand-written
# baseline (bench/peers/handwritten) and the Redpanda Connect engine, on the
# same file, interleaved; fails when their posted record counts differ.
# ROWS=5000000 N=5 RPC=0 CPUS=0 are passed through.
ROWS ?= 1000000
bench-compare:
	bash bench/compare.sh $(ROWS)

# bench-jsonl: the file→file job (examples/csv_to_jsonl.yaml) against the
# hand-written equivalent (handwritten -jsonl); outputs must be byte-identical.
bench-jsonl:
	MODE=jsonl bash bench/compare.sh $(ROWS)

# bench-server: the same job as a Live dataflow under connectplus server
# (file dropped in its source folder) against connectplus run.
bench-server:
	bash bench/server.sh $(ROWS)

# bench-big: the 50M-row (~6.7 GB) run, ours and the hand-written baseline
# once each; not part of CI (needs ~30 GB of disk and several minutes).
bench-big:
	RPC=0 N=1 bash bench/compare.sh 50000000

# pgo-profile writes bench/data/default.pgo from CPU profiles of the
# flagship; copy it to cmd/connectplus/default.pgo to build with it (see the
# README's performance section for what it gave).
pgo-profile:
	PGO=off bash bench/profile.sh 1000000 bench/data/pgo-1
	PGO=off bash bench/profile.sh 1000000 bench/data/pgo-2
	$(GO) tool pprof -proto bench/data/pgo-1/cpu.pprof bench/data/pgo-2/cpu.pprof > bench/data/default.pgo

demo:
	$(GO) run ./cmd/connectplus demo

clean:
	rm -rf bin
