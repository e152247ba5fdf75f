# Two entry points (see README): `make demo` and `make test`. Both set up .venv first, and skip that when nothing changed.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed

.PHONY: setup demo test export-check nbtest pytest clean-venv

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(BIN)/xrayood demo --out out/demo

export-check: setup
	PATH=$(abspath $(BIN)):$$PATH tools/check-export

nbtest: setup
	$(BIN)/nbdev-test --n-workers 2 --timing

pytest: setup
	$(BIN)/python -m pytest -q tests

test: export-check nbtest pytest

clean-venv:
	rm -rf $(VENV)
