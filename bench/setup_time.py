"""The README's set-up on a fresh machine: `make install` in a clean clone, timed in wall clock and CPU seconds.

Usage::

    python bench/setup_time.py --fresh --json     # empty wheelhouse and pip cache: llama.cpp compiles
    python bench/setup_time.py --json             # the wheel already in ~/.cache/assistant/wheels

Why: the set-up's cost is compiling llama.cpp once, and on a shared 2-core machine the wall clock moves with
other work; the CPU seconds (this process's children: make, pip, the compiler) move far less, so both are
printed with the load average before and after. The clone is made from the committed tree of the repository
this script sits in (``git clone``), so uncommitted edits are not measured. ``--fresh`` gives ``make install``
a new, empty wheelhouse and pip cache (``WHEELHOUSE``, ``PIP_CACHE_DIR``); pip's own configuration (for example
a local find-links folder holding torch's CPU wheel) applies as it would for any user of the machine.
Everything is made under a temporary folder and removed afterwards.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import machine, report  # noqa: E402


def _cpu_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(*, fresh: bool, keep_log: Path | None) -> dict[str, object]:
    """Clone, then time ``make install`` there; the figures, or an error naming the log."""
    with tempfile.TemporaryDirectory(prefix="assistant-setup-") as tmp:
        work = Path(tmp)
        clone = work / "clone"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        env = dict(os.environ)
        if fresh:
            env["WHEELHOUSE"] = str(work / "wheelhouse")
            env["PIP_CACHE_DIR"] = str(work / "pip-cache")
        log = keep_log or work / "install.log"
        load_before = os.getloadavg()[0]
        cpu_before = _cpu_children()
        start = time.perf_counter()
        with log.open("w", encoding="utf-8") as out:
            code = subprocess.run(["make", "install"], cwd=clone, env=env, stdout=out, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL).returncode
        wall = time.perf_counter() - start
        cpu = _cpu_children() - cpu_before
        if code != 0:
            tail = log.read_text(encoding="utf-8", errors="replace").splitlines()[-5:]
            lines = "\n".join(tail)
            raise SystemExit(f"error: make install failed (exit {code}):\n{lines}")
        return {
            "fresh": fresh,
            "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=clone, capture_output=True,
                                     text=True, check=True).stdout.strip(),
            "wall_s": round(wall, 1),
            "cpu_s": round(cpu, 1),
            "load_average_before": round(load_before, 2),
            "load_average_after": round(os.getloadavg()[0], 2),
            "target_s": 240,
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fresh", action="store_true", help="empty wheelhouse and pip cache (llama.cpp compiles)")
    parser.add_argument("--log", type=Path, help="keep make's output in this file")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    figures = run(fresh=args.fresh, keep_log=args.log)
    figures["machine"] = machine()
    report(figures, as_json=args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
