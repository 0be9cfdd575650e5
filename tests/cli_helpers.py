"""Run the `assistant` command as a user does: a subprocess with a clean environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run_cli(args: list[str], data_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """``assistant ARGS`` on fake models and the store at ``data_dir``; ``env`` overrides."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("ASSISTANT_", "OPENAI_", "CHROMA_"))}
    environment.update({"ASSISTANT_LLM": "fake", "ASSISTANT_EMBEDDINGS": "fake",
                        "ASSISTANT_DATA_DIR": str(data_dir), **env})
    return subprocess.run([sys.executable, "-m", "assistant.cli", *args], capture_output=True, text=True,
                          env=environment, timeout=300, check=False)
