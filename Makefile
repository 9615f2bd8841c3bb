# protolab — see README.md. `make bench` runs the main job, `make test` the tests.
SHELL := /bin/bash
CARGO ?= cargo
CERTS ?= certs
RESULTS ?= results
FUZZ_SECONDS ?= 60
SUITE ?= quick
FUZZ_TARGETS ?= net001_decode framed_decode

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

certs: env-file $(CERTS)/ca.crt ## CA, server and client certificates (rcgen) in certs/, and .env
$(CERTS)/ca.crt:
	$(CARGO) run --quiet --release -p loadgen -- certs --out $(CERTS)

seed: ## write the dataset (ITEMS rows, SEED) to protolab.db
	$(CARGO) run --quiet --release -p loadgen -- seed --db protolab.db

bench: ## build, start the lab, run the $(SUITE) suite in the loadgen container, each phase timed (no Docker: --local)
	@if [ -n "$(COMPOSE)" ] && docker info >/dev/null 2>&1; then \
	  began=$$SECONDS && $(TIMED) "make up" $(MAKE) --no-print-directory up && mkdir -p $(RESULTS) && \
	  $(TIMED) "suite $(SUITE)" $(COMPOSE) run --rm loadgen bench --suite $(SUITE) --host compose $(BENCH_ARGS) && \
	  latest=$$(ls -1td $(RESULTS)/*/ 2>/dev/null | head -n1) && \
	  echo "== make bench: $$((SECONDS - began)) s in all; report: $${latest}report.html (and report.md, run.json, charts)"; \
	else \
	  echo "make bench: no Docker engine reachable; running the servers as local processes (--local)." >&2; \
	  $(CARGO) build --release --workspace && \
	  target/release/loadgen bench --local --suite $(SUITE) --out $(RESULTS) $(BENCH_ARGS); \
	fi

calibrate: ## loadgen vs wrk -t1 and h2load -t1 on the same pinned servers, CPU per request of each side; writes results/calibration/<date>.md
	bash loadgen/scripts/calibrate.sh

# cargo-fuzz needs nightly's -Z flags (sanitizer, coverage); without a nightly
# toolchain, the installed one is told to accept them (RUSTC_BOOTSTRAP=1: the same
# compiler, its unstable flags unlocked), since no other toolchain can be fetched here.
FUZZ_TOOLCHAIN = $(shell rustup toolchain list 2>/dev/null | grep -q '^nightly' && echo +nightly)
fuzz: ## fuzz the wire decoders for FUZZ_SECONDS each (installs cargo-fuzz if missing)
	@command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked
	cd services/wire && for t in $(FUZZ_TARGETS); do \
	  $(if $(FUZZ_TOOLCHAIN),,RUSTC_BOOTSTRAP=1) $(CARGO) $(FUZZ_TOOLCHAIN) fuzz run $$t -- -max_total_time=$(FUZZ_SECONDS) || exit 1; \
	done

clean: ## remove build output, generated files, the lab's containers, volume and images (keeps results/)
	$(CARGO) clean
	rm -rf $(CERTS)/*.crt $(CERTS)/*.key protolab.db vendor .env
	@if [ -n "$(COMPOSE)" ] && docker info >/dev/null 2>&1; then \
	  $(COMPOSE) --profile tools --profile dashboard --profile workers down --remove-orphans --volumes; \
	  docker image ls -q 'protolab/*' | sort -u | xargs -r docker image rm -f >/dev/null; \
	  echo "removed the lab's containers, dataset volume and images (base images: docker image rm protolab/builder:bookworm protolab/runtime:distroless)"; \
	fi

# ---- Docker Compose lab -------------------------------------------------------
# Images: protolab/<server>, protolab/loadgen and protolab/build (the workspace build
# they all come from), tagged $(IMAGE_TAG). Base images are build args; where no
# registry answers, `make base-images` assembles local ones (services/base-images.sh).
# Each phase of `make images`, `make up` and `make bench` prints its duration.
TIMED := bash services/timed.sh
IMAGE_TAG ?= latest
# Every crate under services/ with a main.rs is a server.
ALL_SERVERS := $(patsubst services/%/src/main.rs,%,$(wildcard services/*/src/main.rs))
SERVERS ?= $(ALL_SERVERS)
# What the image build compiles: the whole workspace, or only the servers asked for
# and loadgen (it seeds the lab), e.g. while another server does not compile yet.
CARGO_PACKAGES ?= $(if $(filter-out $(SERVERS),$(ALL_SERVERS)),$(foreach s,$(SERVERS),-p protolab-$(s)) -p loadgen,--workspace)
# 1: crates from vendor/ (no network in the image build); 0: from the registry.
VENDORED ?= 1
DOCKER_BUILD_FLAGS ?=
UP_TIMEOUT ?= 180
export IMAGE_TAG
export COMPOSE_PROJECT_NAME ?= protolab
# compose.yaml's loadgen writes results/ as the user running make and reaches the
# docker socket through its group.
export HOST_UID ?= $(shell id -u)
export HOST_GID ?= $(shell id -g)
# run.json names the commit even from inside the loadgen container (no git there).
export PROTOLAB_COMMIT ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null)
export DOCKER_GID ?= $(shell stat -c %g /var/run/docker.sock 2>/dev/null || echo 0)

# $(call first_image,A B ...): the first image present locally, else the last one.
first_image = $(shell for i in $(1); do docker image inspect $$i >/dev/null 2>&1 && { echo $$i; exit; }; done; echo $(lastword $(1)))
# Evaluated once, on first use (so `make test` never asks Docker).
BUILDER_IMAGE ?= $(eval BUILDER_IMAGE := $(call first_image,rust:1-bookworm protolab/builder:bookworm))$(BUILDER_IMAGE)
RUNTIME_IMAGE ?= $(eval RUNTIME_IMAGE := $(call first_image,gcr.io/distroless/cc-debian12:nonroot protolab/runtime:distroless))$(RUNTIME_IMAGE)
COMPOSE ?= $(eval COMPOSE := $(shell if docker compose version >/dev/null 2>&1; then echo docker compose; elif command -v docker-compose >/dev/null; then echo docker-compose; fi))$(COMPOSE)


.PHONY: base-images vendor images env-file up lab-prereqs down logs ps smoke e2e dashboard swarm-up swarm-down swarm-bench

base-images: ## assemble protolab/builder and protolab/runtime locally (debootstrap + this machine's Rust)
	bash services/base-images.sh

vendor: ## copy every crate into vendor/ (git-ignored) so image builds need no network; kept while Cargo.lock is unchanged
	@CARGO='$(CARGO)' bash services/images.sh vendor

images: ## build protolab/{build,<server>,loadgen} (base images and vendor/ when missing), each phase timed (SERVERS=..., IMAGE_TAG=...)
	@BUILDER_IMAGE='$(BUILDER_IMAGE)' RUNTIME_IMAGE='$(RUNTIME_IMAGE)' SERVERS='$(SERVERS)' VENDORED='$(VENDORED)' \
	  CARGO_PACKAGES='$(CARGO_PACKAGES)' DOCKER_BUILD_FLAGS='$(DOCKER_BUILD_FLAGS)' CARGO='$(CARGO)' \
	  bash services/images.sh

# .env beside compose.yaml: compose (v2 and 1.29) reads it by itself, so a
# `docker compose run --rm loadgen ...` typed in a shell, from any folder name, gets
# the project, image tag, user and docker-socket group make's commands get. No
# top-level `name:` in compose.yaml: docker-compose 1.29 rejects unknown top-level
# keys. Rewritten by `make up` and `make certs`; lines of your own in it are kept.
ENV_KEYS := COMPOSE_PROJECT_NAME IMAGE_TAG HOST_UID HOST_GID DOCKER_GID
env-file: ## write .env (git-ignored) so compose commands typed in a shell find the lab
	@{ echo "# (make) Written by make up / make certs for compose, which reads it by itself;"; \
	  echo "# (make) git-ignored. The lines below are rewritten each time; add your own after them."; \
	  $(foreach k,$(ENV_KEYS),echo '$(k)=$($(k))';) \
	  if [ -f .env ]; then grep -vE '^# \(make\) |^($(subst $(eval) ,|,$(ENV_KEYS)))=' .env || true; fi; \
	} > .env.tmp && mv .env.tmp .env

up: lab-prereqs ## start the servers (building images and certs when missing), wait until healthy; writes .env
	@test -n "$(COMPOSE)" || { echo "make up: neither 'docker compose' nor 'docker-compose' found" >&2; exit 1; }
	@$(TIMED) "compose up (seed, servers)" $(COMPOSE) up -d --no-build $(SERVERS)
	@UP_TIMEOUT=$(UP_TIMEOUT) $(TIMED) "servers healthy" bash services/smoke.sh wait $(SERVERS)

# What the compose lab and the swarm stack both need: the images (built when
# missing), .env, and certificates made by the loadgen image.
lab-prereqs:
	@missing=; for i in $(SERVERS) loadgen; do \
	  docker image inspect protolab/$$i:$(IMAGE_TAG) >/dev/null 2>&1 || missing="$$missing $$i"; done; \
	if [ -n "$$missing" ]; then echo "== images missing:$$missing; building them"; \
	  $(TIMED) "make images" $(MAKE) --no-print-directory images; fi
	@$(MAKE) --no-print-directory env-file
	@# Certificates from the loadgen image just built (the same rcgen code as `make certs`,
	@# without a second, local release build).
	@if [ ! -f $(CERTS)/ca.crt ]; then \
	  mkdir -p $(CERTS) && $(TIMED) "certificates" docker run --rm --user "$$(id -u):$$(id -g)" \
	    -v "$(CURDIR)/$(CERTS):/certs" protolab/loadgen:$(IMAGE_TAG) certs --out /certs; fi

# ---- Docker Swarm ----------------------------------------------------------------
# The same servers as a swarm stack (services/swarm.sh; the stack file is derived
# from compose.yaml by `loadgen stack`): SERVER_REPLICAS of each, balanced by the
# generator over every replica's address (dnsrr). Single node here; see the README
# for more hosts.
SERVER_REPLICAS ?= 1
STACK ?= protolab
SWARM = env STACK=$(STACK) SERVERS='$(SERVERS)' SERVER_REPLICAS=$(SERVER_REPLICAS) UP_TIMEOUT=$(UP_TIMEOUT) bash services/swarm.sh

swarm-up: lab-prereqs ## the servers as a swarm stack (STACK, default protolab), SERVER_REPLICAS of each, LOADGEN_WORKERS generator workers (a single-node swarm is made when none is active), healthy
	@$(TIMED) "swarm stack up" $(SWARM) up

swarm-down: ## remove the stack, its network and volume (and the swarm, when swarm-up made it)
	@$(SWARM) down

swarm-bench: ## the $(SUITE) suite from a loadgen container on the stack's network (BENCH_ARGS=...)
	@$(TIMED) "suite $(SUITE) on stack $(STACK)" $(SWARM) loadgen bench --suite $(SUITE) --host compose $(BENCH_ARGS)

down: ## stop and remove the lab's containers and network (keeps the dataset volume)
	$(COMPOSE) --profile tools --profile dashboard --profile workers down --remove-orphans

logs: ## follow the lab's logs (SERVICES=rest to narrow)
	$(COMPOSE) logs -f --tail=100 $(SERVICES)

ps: ## the lab's containers and their health
	$(COMPOSE) ps

smoke: ## with the lab up: every container healthy, GET /items/42 through 127.0.0.1
	bash services/smoke.sh check $(SERVERS)

e2e: ## CI: images, lab up and healthy, controller, smoke suite in the loadgen container, run checked
	@test -n "$(COMPOSE)" || { echo "make e2e: neither 'docker compose' nor 'docker-compose' found" >&2; exit 1; }
	COMPOSE="$(COMPOSE)" MAKE="$(MAKE)" bash services/e2e.sh

DASHBOARD_PORT ?= 8088
dashboard: ## the web dashboard on http://127.0.0.1:$(DASHBOARD_PORT) (compose lab; no Docker: --local)
	@if [ -n "$(COMPOSE)" ] && docker info >/dev/null 2>&1; then \
	  $(MAKE) --no-print-directory up && mkdir -p $(RESULTS) && \
	  token=$${DASHBOARD_TOKEN:-$$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')} && \
	  DASHBOARD_TOKEN=$$token DASHBOARD_PORT=$(DASHBOARD_PORT) $(COMPOSE) --profile dashboard up -d --no-build dashboard && \
	  echo "== dashboard: open http://127.0.0.1:$(DASHBOARD_PORT)/?token=$$token  (make down stops it)"; \
	else \
	  echo "make dashboard: no Docker engine reachable; the servers run as local processes (--local)." >&2; \
	  $(CARGO) build --release --workspace && \
	  target/release/loadgen dashboard --local --listen 127.0.0.1:$(DASHBOARD_PORT) --out $(RESULTS); \
	fi
