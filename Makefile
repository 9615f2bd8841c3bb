# protolab — see README.md. `make bench` runs the main job, `make test` the tests.
SHELL := /bin/bash
CARGO ?= cargo
CERTS ?= certs
RESULTS ?= results
FUZZ_SECONDS ?= 60
SUITE ?= quick

.PHONY: help test lint fmt certs seed bench calibrate build e2e fuzz clean

help: ## list targets
	@grep -E '^[a-z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

test: ## unit + integration tests (real servers on loopback ports chosen at run time)
	$(CARGO) test --workspace

lint: ## formatting and clippy, as CI wants them
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt: ## format the code
	$(CARGO) fmt --all

build: ## release build of every server and the load generator
	$(CARGO) build --release --workspace

certs: $(CERTS)/ca.crt ## CA, server and client certificates (rcgen) in certs/
$(CERTS)/ca.crt:
	$(CARGO) run --quiet --release -p loadgen -- certs --out $(CERTS)

seed: ## write the dataset (ITEMS rows, SEED) to protolab.db
	$(CARGO) run --quiet --release -p loadgen -- seed --db protolab.db

bench: ## build, start every server, run the $(SUITE) suite, write results/<run-id>/
	@echo "make bench: the Docker lab is not in this tree yet; running the servers as local processes (--local)." >&2
	$(CARGO) build --release --workspace
	target/release/loadgen bench --local --suite $(SUITE) --out $(RESULTS)

calibrate: ## loadgen vs wrk and h2load on the same server, open-loop accuracy, stall test
	bash loadgen/scripts/calibrate.sh

clean: ## remove build output and generated files (keeps results/)
	$(CARGO) clean
	rm -f $(CERTS)/*.crt $(CERTS)/*.key protolab.db
