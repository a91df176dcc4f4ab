# LAE Landscapes — `make serve` and `make test` set everything up on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PORT   ?= 5006

.PHONY: serve test bench stress chromium clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall when the dependency list changes.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
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

## Unit, property and browser tests (benchmarks excluded).
test: $(STAMP) chromium
	$(BIN)/python -m pytest -q

## Benchmarks: core micro-benchmarks and the browser latency figures; writes bench-results/.
bench: $(STAMP) chromium
	$(BIN)/python -m tests.perf.bench

clean:
	rm -rf $(VENV) bench-results .pytest_cache .hypothesis
