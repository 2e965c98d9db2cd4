# repost — build and test targets. `make test` is what CI runs.
GO ?= go
PKGS := ./...

.PHONY: test vet build fuzz chaos chaos-cluster bench lint screenshot check-deployments

test: vet
	$(GO) test -race -timeout 15m $(PKGS)

vet:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet $(PKGS)

# Static binaries with the Dockerfile's exact flags (they live in build.sh).
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
build:
	sh deployments/build.sh $(VERSION) bin

# docs/console.png: the console's overview while `repostd demo` drains its
# mix, taken by headless chromium (internal/consoleshot); about 20 s.
screenshot:
	@mkdir -p bin
	$(GO) build -o bin/repostd ./cmd/repostd
	$(GO) run ./internal/consoleshot -repostd bin/repostd -o docs/console.png

# Every kustomization rendered by kubectl, the alert rules read by promtool.
check-deployments:
	sh deployments/check.sh

# docs/BENCHMARKS.md and its plot, chaos accounting included; about 15
# minutes (a full chaos run, then a 1,000,000-event backlog).
bench: chaos
	$(GO) run ./cmd/repostbench -chaos $(CHAOS_JSON)

# The chaos run (internal/chaos): three repostd, nats-server, redis-server and
# marketo-sim as processes; kills and restarts; the accounting as a table and
# as JSON in $(CHAOS_JSON). `make test` runs its short version.
CHAOS_JSON ?= bin/chaos.json
chaos:
	@mkdir -p $(dir $(CHAOS_JSON))
	$(GO) run ./cmd/repostchaos -json $(CHAOS_JSON) $(CHAOS_FLAGS)

# The same against a 3-server JetStream cluster (R3): the leaders of
# POSTOUT_FAILED, of the repost-<sub> consumer and of POSTOUT_OUTCOMES are
# SIGKILLed in turn and restarted. Not part of `make test`.
# CHAOS_FLAGS=-short make chaos-cluster is the small version.
chaos-cluster:
	@mkdir -p $(dir $(CHAOS_JSON))
	$(GO) run ./cmd/repostchaos -cluster -json $(CHAOS_JSON) $(CHAOS_FLAGS)

# Fuzzing, 60 s per target (FUZZTIME=10s make fuzz for a quick pass), one worker
# each: the machine is shared. A crasher is written to the package's
# testdata/fuzz/<Target>/ and fails the run: commit it with its fix.
fuzz: FUZZTIME ?= 60s
fuzz:
	$(GO) test -run='^$$' -fuzz='^FuzzDecodeEvent$$' -fuzztime=$(FUZZTIME) -parallel 1 .
	$(GO) test -run='^$$' -fuzz='^FuzzEventParts$$' -fuzztime=$(FUZZTIME) -parallel 1 .
	$(GO) test -run='^$$' -fuzz='^FuzzFailure$$' -fuzztime=$(FUZZTIME) -parallel 1 .
	$(GO) test -run='^$$' -fuzz='^FuzzOutcomeAppendJSON$$' -fuzztime=$(FUZZTIME) -parallel 1 .
	$(GO) test -run='^$$' -fuzz='^FuzzAgainstEncodingJSON$$' -fuzztime=$(FUZZTIME) -parallel 1 ./internal/strictjson
	$(GO) test -run='^$$' -fuzz='^FuzzValid$$' -fuzztime=$(FUZZTIME) -parallel 1 ./internal/strictjson
	$(GO) test -run='^$$' -fuzz='^FuzzFastPathsAgree$$' -fuzztime=$(FUZZTIME) -parallel 1 ./internal/strictjson
	$(GO) test -run='^$$' -fuzz='^FuzzAppendString$$' -fuzztime=$(FUZZTIME) -parallel 1 ./internal/strictjson
	$(GO) test -run='^$$' -fuzz='^FuzzInURL$$' -fuzztime=$(FUZZTIME) -parallel 1 ./internal/redact
	$(GO) test -run='^$$' -fuzz='^FuzzParseAnswer$$' -fuzztime=$(FUZZTIME) -parallel 1 ./marketo
	$(GO) test -run='^$$' -fuzz='^FuzzImport$$' -fuzztime=$(FUZZTIME) -parallel 1 ./cmd/repostctl
	$(GO) test -run='^$$' -fuzz='^FuzzImportCSVRow$$' -fuzztime=$(FUZZTIME) -parallel 1 ./cmd/repostctl

# Issue 13 point 2's acceptance target (full calls under a binding window on
# mixed traffic, 40,000 events): not met yet, so kept out of `make test`.
send-targets:
	REPOST_SENDPATH_TARGETS=1 $(GO) test -race -count=1 -timeout 20m -run '^(TestBindingWindowCallsLeaveFull|TestTailGathersOnOneReplica)$$' -v ./worker/
