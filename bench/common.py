"""What the benchmark scripts share: where they ran, and a plain table of nested figures."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path


def machine() -> dict[str, str | int | None]:
    """Where the figures were measured."""
    cpu = None
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
                    if line.startswith("model name")), None)
    return {"cpu": cpu or platform.processor() or None, "cpu_count": os.cpu_count(),
            "platform": platform.platform(), "python": platform.python_version()}


def table(result: dict[str, object], *, width: int = 48) -> str:
    """One line per figure; nested dictionaries become dotted names."""
    lines = [f"{'figure':<{width}} value", "-" * (width + 14)]

    def walk(prefix: str, value: object) -> None:
        if isinstance(value, dict):
            for key, sub in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), sub)
        else:
            lines.append(f"{prefix:<{width}} {value}")

    walk("", result)
    return "\n".join(lines)


def report(figures: dict[str, object], *, as_json: bool) -> None:
    """The figures as a table, and with ``--json`` as one JSON object on the last line."""
    print(table(figures))
    if as_json:
        print(json.dumps(figures))
