# Two commands for a new user:  `make run`  and  `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
JOBS   := $(shell nproc 2>/dev/null || echo 2)

.PHONY: install run test browser bench clean

# llama.cpp is compiled once into a wheelhouse outside the project and reused by every later install.
# On x86-64 it is built for AVX2 rather than -march=native: a native build switches on AMX where the CPU has
# it, and that build crashes (SIGSEGV) in virtual machines that do not grant AMX to processes.
# The multimodal library (mtmd/llava) is left out: the assistant reads text only, and it is a good part of the compile.
LLAMA_VERSION := $(shell sed -n 's/.*"llama-cpp-python==\([0-9.]*\)".*/\1/p' pyproject.toml)
WHEELHOUSE    ?= $(HOME)/.cache/assistant/wheels
ifeq ($(shell uname -m),x86_64)
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DLLAVA_BUILD=OFF
else
LLAMA_CMAKE_ARGS ?= -DLLAVA_BUILD=OFF
endif

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --upgrade pip
	@ls $(WHEELHOUSE)/llama_cpp_python-$(LLAMA_VERSION)-*.whl >/dev/null 2>&1 || { \
	  echo ">>> Compiling llama.cpp $(LLAMA_VERSION) once (about 5 minutes on 2 cores) into $(WHEELHOUSE)"; \
	  CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" CMAKE_BUILD_PARALLEL_LEVEL=$(JOBS) $(PY) -m pip wheel --no-deps \
	    --no-cache-dir --progress-bar on -w $(WHEELHOUSE) llama-cpp-python==$(LLAMA_VERSION); }
	@echo ">>> Installing the assistant and its models into $(VENV)."
	$(PY) -m pip install --progress-bar on --find-links $(WHEELHOUSE) -e '.[dev]'
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
