# ShareHub: `make demo` runs the main job end to end; `make test` runs the tests.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test lint bench clean venv up down status system-packages

venv: $(STAMP)

$(STAMP): requirements.txt constraints.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip==26.3"
	$(BIN)/pip install --quiet -r requirements.txt -c constraints.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m devkit demo

# The web-page tests drive a real headless Chromium from the distribution's packages; where it cannot be
# installed (no root, no apt) they are skipped with that reason.
# The distribution's packages the tests use: Chromium (browser tests) and redis-server (the
# Celery broker of `hub up --executor celery`).
system-packages:
	@command -v chromium >/dev/null && command -v redis-server >/dev/null && fc-list :lang=zh | grep -q . \
	  || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium redis-server \
	      fonts-wqy-microhei >/dev/null) \
	  || echo "chromium, redis-server or a Chinese font could not be installed: the tests that need them will fail or skip" >&2

test: $(STAMP) system-packages
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest

# the stack with the department simulators as its sources (`hub up` alone reads the environment's)
up: $(STAMP)
	$(BIN)/python -m devkit up

down:
	$(BIN)/hub down

status: $(STAMP)
	$(BIN)/hub status

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Benchmark peers (dlt) are installed for `make bench` only; CI and `make test`/`make demo` do without them.
BENCH_STAMP := $(VENV)/.bench-stamp

$(BENCH_STAMP): $(STAMP) requirements-bench.txt constraints.txt
	$(BIN)/pip install --quiet -r requirements-bench.txt -c constraints.txt
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BIN)/python -m bench.run --scale $${SCALE:-0.1}

clean:
	-$(BIN)/hub down
	-$(BIN)/hub store stop
	rm -rf $(VENV) .hub
