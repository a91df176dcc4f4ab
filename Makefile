# LAE Landscapes — `make serve` and `make test` set everything up on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PORT   ?= 5006

.PHONY: serve test bench stress screenshots chromium nginx clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall when the dependency list or the lock changes. The runtime dependencies are held at
# requirements.lock's pins (what the Docker image installs), so a release on PyPI cannot change
# what the tests run against; the test tools are not pinned.
$(STAMP): pyproject.toml requirements.lock | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[test]'
	touch $@

## The app at http://localhost:$(PORT)
serve: $(STAMP)
	$(BIN)/lae-landscapes serve --port $(PORT)

## Chromium for the browser tests: Debian's package as root, else Playwright's own build.
chromium: $(STAMP)
	@if [ -x /usr/bin/chromium ]; then \
	  echo "chromium: /usr/bin/chromium"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "chromium: installing Debian's package"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
	  echo "chromium: installing Playwright's build"; \
	  $(BIN)/python -m playwright install chromium; \
	fi

## nginx for the scale-out test (deploy/nginx.conf): Debian's package as root.
nginx:
	@if command -v nginx >/dev/null || [ -x /usr/sbin/nginx ]; then \
	  echo "nginx: $$(command -v nginx || echo /usr/sbin/nginx)"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "nginx: installing Debian's package"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null 2>&1 \
	    || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null; \
	else \
	  echo "nginx: not installed and cannot install it (not root): the scale-out test will fail"; \
	fi

## Unit, property and browser tests (benchmarks excluded); leaves the tracked files alone (the
## screenshot tests write to build/screenshots).
test: $(STAMP) chromium nginx
	$(BIN)/python -m pytest -q

## Benchmarks: core micro-benchmarks and the browser latency figures; writes bench-results/.
bench: $(STAMP) chromium
	$(BIN)/python -m benchmarks.bench

## The load, soak and fuzz suites at full size (make test runs them reduced).
stress: $(STAMP) chromium nginx
	$(BIN)/python -m benchmarks.stress

## The README's screenshots (docs/screenshots), taken afresh by the browser tests that make them.
screenshots: $(STAMP) chromium
	LAE_SCREENSHOTS=$(CURDIR)/docs/screenshots $(BIN)/python -m pytest -q -k screenshot tests/e2e

clean:
	rm -rf $(VENV) bench-results .pytest_cache .hypothesis
