#!/usr/bin/env bash
# Installs the project and its dev tools into a venv (the Makefile's `install`).
#
# llama-cpp-python ships only its source, so its wheel is compiled once into a wheelhouse outside the project and
# reused by every later install. When it is missing, the compile runs in the background while pip downloads and
# installs everything else (torch, Gradio, Chroma, ...): the two take about as long, and one no longer waits for
# the other. The wheel is built in a temporary folder beside the wheelhouse and moved into it only when complete,
# so an interrupted or failed compile leaves nothing half-written there, and a failed one fails the install.
#
# Environment (set by the Makefile): PY (the venv's python), WHEELHOUSE, LLAMA_VERSION, LLAMA_CMAKE_ARGS,
# JOBS (compile jobs), HELD (packages that require llama-cpp-python: installed without their dependencies first).
set -euo pipefail
: "${PY:?}" "${WHEELHOUSE:?}" "${LLAMA_VERSION:?}" "${JOBS:=2}" "${LLAMA_CMAKE_ARGS:=}" "${HELD:=}"
cd "$(dirname "$0")/.."

build_pid=""
build_dir=""
build_log=""
build_started=0

have_wheel() { compgen -G "$WHEELHOUSE/llama_cpp_python-$LLAMA_VERSION-*.whl" >/dev/null; }

stop_build() {
  # Runs on every exit: ends a compile still running (its own process group; its log goes with it) and removes
  # its temporary folder. The log of a compile that failed is kept: the error message names it.
  if [ -n "$build_pid" ] && kill -0 "$build_pid" 2>/dev/null; then
    kill -TERM -- "-$build_pid" 2>/dev/null || kill -TERM "$build_pid" 2>/dev/null || true
    wait "$build_pid" 2>/dev/null || true
    rm -f "$build_log"
  fi
  if [ -n "$build_dir" ]; then rm -rf "$build_dir"; fi
}
trap stop_build EXIT
trap 'echo ">>> Interrupted: nothing was added to $WHEELHOUSE" >&2; exit 130' INT TERM

start_build() {
  mkdir -p "$WHEELHOUSE"
  build_dir=$(mktemp -d "$WHEELHOUSE/.building-XXXXXX")
  build_log=$(mktemp "${TMPDIR:-/tmp}/llama-cpp-build-XXXXXX.log")
  echo ">>> Compiling llama.cpp $LLAMA_VERSION once, in the background (about 2 minutes on 2 idle cores)"
  echo "    into $WHEELHOUSE; its log: $build_log"
  local group=()  # its own process group, so that stopping it reaches the compiler processes too
  if command -v setsid >/dev/null; then group=(setsid); fi
  CMAKE_ARGS="$LLAMA_CMAKE_ARGS" CMAKE_BUILD_PARALLEL_LEVEL="$JOBS" "${group[@]}" "$PY" -m pip wheel --no-deps \
    --no-cache-dir -w "$build_dir" "llama-cpp-python==$LLAMA_VERSION" >"$build_log" 2>&1 &
  build_pid=$!
  build_started=$SECONDS
}

finish_build() {
  local started=$SECONDS status=0 step=""
  echo ">>> Waiting for the llama.cpp compile to finish"
  while kill -0 "$build_pid" 2>/dev/null; do
    # ninja's "[done/total]" counter from the log, as a progress line
    step=$(grep -o '^ *\[[0-9]*/[0-9]*\]' "$build_log" | tail -n 1 | tr -d ' ' || true)
    if [ -t 1 ]; then printf '\r    compiling %s, %d s' "$step" $((SECONDS - build_started)); fi
    # The pause runs in the background and is waited for by the builtin: Ctrl-C interrupts `wait` at once and runs
    # the trap, where a foreground `sleep` can leave bash deciding whether the child died of the signal.
    sleep 2 & wait $! || true
  done
  if [ -t 1 ]; then echo; fi
  wait "$build_pid" || status=$?
  build_pid=""
  if [ "$status" -ne 0 ]; then
    tail -n 25 "$build_log" >&2
    echo "error: compiling llama.cpp $LLAMA_VERSION failed (exit $status): see the lines above and $build_log;" \
      "it needs a C++ compiler and CMake >= 3.21 (apt-get install build-essential cmake), then run make install again." >&2
    exit 1
  fi
  mv "$build_dir"/llama_cpp_python-"$LLAMA_VERSION"-*.whl "$WHEELHOUSE"/
  rm -f "$build_log"
  echo ">>> llama.cpp compiled in $((SECONDS - build_started)) s (the last $((SECONDS - started)) s after the other packages)"
}

if ! have_wheel; then start_build; fi

echo ">>> Installing the assistant's other packages into $(dirname "$(dirname "$PY")")"
expand=()
hold=(--hold llama-cpp-python)
if [ -n "$HELD" ]; then
  # shellcheck disable=SC2086  # HELD is a list of pinned names, split on purpose
  "$PY" -m pip install --progress-bar on --no-deps $HELD
  for held in $HELD; do hold+=(--hold "${held%%[=<>]*}"); expand+=(--expand "${held%%[=<>]*}"); done
fi
"$PY" -m pip install --progress-bar on -r <("$PY" setup/requirements.py "${hold[@]}" "${expand[@]}")
echo ">>> The other packages took $SECONDS s"

if [ -n "$build_pid" ]; then finish_build; fi

echo ">>> Installing the assistant (llama-cpp-python from $WHEELHOUSE)"
"$PY" -m pip install --progress-bar on --find-links "$WHEELHOUSE" -e '.[dev]'
