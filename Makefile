# Local development and CI entry points.

VENV := .venv
PYTHON := $(VENV)/bin/python
STAMP := $(VENV)/.requirements-installed

# Install a Debian package when its command is missing: $(call need,COMMAND,PACKAGE)
need = command -v $(1) >/dev/null || { apt-get update -qq && apt-get install -y -qq $(2); }

.PHONY: install run test bench

install: $(STAMP)

$(STAMP): requirements.txt
	test -x $(PYTHON) || python3 -m venv $(VENV)
	$(PYTHON) -m pip install -q -r requirements.txt
	touch $(STAMP)

run: install
	@$(call need,redis-server,redis-server)
	$(PYTHON) -m stack

test: install
	@$(call need,redis-server,redis-server)
	@$(call need,docker-compose,docker-compose)
	$(PYTHON) -m pytest -q tests $(PYTEST_ARGS)

# Benchmarks against a plain Celery baseline (bench/, BENCHMARKS.md); not part of
# the tests. BENCH_QUICK=1 for a short run; BENCH_ARGS for targets and options
# (`$(PYTHON) -m bench --help`).
bench: install
	@$(call need,redis-server,redis-server)
	@$(call need,wrk,wrk)
	$(PYTHON) -m bench $(BENCH_ARGS)
