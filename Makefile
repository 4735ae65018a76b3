# Connect+ — build, test, benchmark.
GO      ?= go
BIN     := bin/connectplus
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

.PHONY: build test test-deps check bench demo clean

build:
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/connectplus

# test installs the real servers the integration tests need (OpenSSH, FTP,
# versitygw, PostgreSQL, GnuPG) when they are missing, then runs every test.
test: test-deps
	# -p 1: several suites measure time (rate limits, Retry-After, schedules)
	# and start real servers; running them one at a time keeps them honest.
	$(GO) test -p 1 -count=1 -timeout 45m ./...

test-deps:
	bash .ci/install-deps.sh

# check is what CI runs before the tests: formatting, vet, tidy modules.
check:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) mod tidy && git diff --exit-code go.mod go.sum

bench: build
	bash bench/run.sh

clean:
	rm -rf bin
