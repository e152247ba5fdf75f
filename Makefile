# Two entry points (see README): `make demo` and `make test`. Both set up .venv first, and skip that when nothing changed.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
# The stamp's name carries a hash of what the install depends on: nbdev-export rewrites pyproject.toml's mtime, not its content.
STAMP   := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)
SUDO    := $(shell [ "$$(id -u)" = 0 ] || command -v sudo)

.PHONY: setup demo lab test export-check nbtest pytest browser docs clean-venv

$(STAMP):
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(BIN)/xrayood demo --out out/demo

# The course in JupyterLab, on this machine (XRAYOOD_MODE=fast for the quick version of every lesson)
lab: setup
	$(BIN)/jupyter lab nbs

export-check: setup
	PATH=$(abspath $(BIN)):$$PATH tools/check-export

# Two notebooks at a time on two cores: one torch thread each (two threads each oversubscribe the cores and crawl).
nbtest: setup
	XRAYOOD_MODE=fast OMP_NUM_THREADS=1 $(BIN)/nbdev-test --n-workers 2 --timing

# tests/test_site.py opens the docs site in Debian's chromium (Playwright drives it; it never downloads a browser).
browser:
	command -v chromium >/dev/null || ($(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium)

pytest: setup browser
	XRAYOOD_MODE=fast $(BIN)/python -m pytest -q tests

# The docs site, offline, into docs/ (open docs/index.html): tools/build-site renders the notebooks with MkDocs.
docs: setup
	$(BIN)/python tools/build-site

test: export-check nbtest pytest

clean-venv:
	rm -rf $(VENV)
