# Two commands on a fresh machine: `make run` (the app on the demo corpus) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
KB ?= embeddings/default
PORT ?= 7860
export GRADIO_ANALYTICS_ENABLED := False
export HF_HUB_OFFLINE := 1

.PHONY: install install-test browser demo-kb run chat test test-fast lint bench clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	# torch first, from the local CPU build: an unpinned torch pulls a multi-GB CUDA build.
	$(PIP) install --quiet torch==2.13.0
	$(PIP) install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(PIP) install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test browser

# Debian's chromium for the browser tests (never `playwright install`: nothing is downloaded).
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else echo "browser tests need Debian's chromium: sudo apt-get install chromium"; fi; \
	fi

# Idempotent: unchanged articles are not re-embedded; --prune drops articles no longer in data/articles
# or in the web page's uploads (kept in $(KB)/uploads; removing an article on the page deletes its copy).
demo-kb: install
	$(VENV)/bin/citeqa ingest data/articles $(wildcard $(KB)/uploads) --kb $(KB) --prune

run: demo-kb
	$(VENV)/bin/citeqa serve --kb $(KB) --port $(PORT)

chat: demo-kb
	$(VENV)/bin/citeqa chat --kb $(KB)

test: install-test
	$(PY) -m pytest -q

# Everything that needs neither the real model nor a browser (marks: tests/conftest.py).
test-fast: $(VENV)/.installed-test
	$(PY) -m pytest -q -m "not slow and not browser"

lint: install-test
	$(VENV)/bin/ruff check src tests app bench

clean:
	rm -rf $(VENV) embeddings/default .pytest_cache
