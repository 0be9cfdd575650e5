# Two commands for a new user:  `make run`  and  `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
JOBS   := $(shell nproc 2>/dev/null || echo 2)

.PHONY: install run test browser bench clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --upgrade pip
	@echo ">>> Installing the assistant and its models into $(VENV)."
	@echo ">>> The first install compiles llama.cpp from source (about 6-15 minutes on 2 cores);"
	@echo ">>> later installs reuse pip's cached wheel and take seconds."
	CMAKE_BUILD_PARALLEL_LEVEL=$(JOBS) $(PY) -m pip install --progress-bar on -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

run: install
	$(PY) app.py

# The browser test drives Debian's Chromium; as root (CI) it is installed when missing.
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && \
	  echo ">>> Installing Debian's chromium for the browser test" && \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
	  echo ">>> chromium is missing: install it (apt-get install chromium) or the browser test fails"

test: install browser
	$(PY) -m ruff check .
	$(PY) -m mypy assistant
	$(PY) -m pytest
	$(VENV)/bin/assistant eval --llm fake --out evals/reports/fake

bench: install
	$(PY) bench/grounding.py --split test

clean:
	rm -rf $(VENV) .assistant-data
