# SafeStar: `make demo` and `make test` do all set-up on a fresh machine (Python 3.11 + pip).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test install install-test browser bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .

install-test: $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-test.lock
	$(BIN)/pip install --quiet --no-deps -e .

browser:
	bash scripts/install-browser.sh

demo: install
	$(BIN)/safestar demo --out demo

test: install-test browser
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

bench: install-test
	$(BIN)/pip install --quiet -r requirements-bench.lock
	@echo "benchmarks installed; run one with $(BIN)/python -m bench.<name> (commands and figures: bench/RESULTS.md)"

clean:
	rm -rf demo artifacts .pytest_cache
