# Local development and CI entry points.

VENV := .venv
PYTHON := $(VENV)/bin/python
STAMP := $(VENV)/.requirements-installed

# Install a Debian package when its command is missing: $(call need,COMMAND,PACKAGE)
need = command -v $(1) >/dev/null || { apt-get update -qq && apt-get install -y -qq $(2); }

.PHONY: install run test bench soak

install: $(STAMP)

# requirements-dev.txt includes requirements.txt: a change to either reinstalls.
$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PYTHON) || python3 -m venv $(VENV)
	$(PYTHON) -m pip install -q -r requirements-dev.txt
	touch $(STAMP)

run: install
	@$(call need,redis-server,redis-server)
	@$(call need,/usr/sbin/nginx,nginx)
	$(PYTHON) -m stack

test: install
	@$(call need,redis-server,redis-server)
	@$(call need,/usr/sbin/nginx,nginx)
	@$(call need,docker-compose,docker-compose)
	@$(call need,faketime,faketime)
	$(PYTHON) -m pytest -q tests $(PYTEST_ARGS)

# Benchmarks against a plain Celery baseline (bench/, BENCHMARKS.md); not part of
# the tests. BENCH_QUICK=1 for a short run; BENCH_ARGS for targets and options
# (`$(PYTHON) -m bench --help`).
bench: install
	@$(call need,redis-server,redis-server)
	@$(call need,wrk,wrk)
	$(PYTHON) -m bench $(BENCH_ARGS)

# A chaos soak (soak/, RELIABILITY.md): the whole stack at its defaults, sends
# for SOAK_S seconds while parts are SIGKILLed at random, then every accepted
# delivery accounted for; exits 1 on a missing, early or unexplained duplicate
# one. SOAK_ARGS for more options (`$(PYTHON) -m soak --help`).
SOAK_S ?= 600
soak: install
	@$(call need,redis-server,redis-server)
	@$(call need,/usr/sbin/nginx,nginx)
	$(PYTHON) -m soak --seconds $(SOAK_S) $(SOAK_ARGS)
