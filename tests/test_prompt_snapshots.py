"""Every prompt, rendered with fixed values, against its snapshot: a prompt change shows up as a diff.

After an intended change: UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest tests/test_prompt_snapshots.py
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from assistant.prompts import PROMPTS_DIR, load_prompt

SNAPSHOTS = Path(__file__).parent / "snapshots"


@pytest.mark.parametrize("name", sorted(p.stem for p in PROMPTS_DIR.glob("*.md")))
def test_prompt_snapshot(name: str) -> None:
    prompt = load_prompt(name)
    values = {v: f"<{v.upper()}>" for v in sorted(prompt.variables)}
    rendered = "\n\n".join(f"[{m.type}]\n{m.content}" for m in prompt.render(**values)) + "\n"
    snapshot = SNAPSHOTS / f"{name}.txt"
    if os.environ.get("UPDATE_SNAPSHOTS"):
        snapshot.write_text(rendered, encoding="utf-8")
    assert snapshot.is_file(), f"no snapshot for prompt '{name}'; run with UPDATE_SNAPSHOTS=1 and review it"
    assert rendered == snapshot.read_text(encoding="utf-8")
