"""Prompts are files: ``prompts/NAME.md`` with declared variables, checked when loaded.

A prompt file has a front matter line ``variables: a, b`` and ``## system`` / ``## user``
sections. Placeholders are ``{name}``. Rendering replaces exactly the declared
placeholders and nothing else, so braces inside questions or articles are inert.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from assistant.errors import ConfigError

PROMPTS_DIR = Path(__file__).resolve().parent.parent / "prompts"
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_FRONT = re.compile(r"\A---\s*\nvariables:\s*(?P<vars>[^\n]*)\n---\s*\n", re.MULTILINE)
_SECTION = re.compile(r"^## (system|user)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Prompt:
    """A loaded prompt: its variables and its system and user templates."""

    name: str
    variables: frozenset[str]
    system: str
    user: str

    def render(self, **values: str) -> list[BaseMessage]:
        """Messages with every declared variable filled; a missing or extra value is an error."""
        given = frozenset(values)
        if given != self.variables:
            missing = sorted(self.variables - given)
            extra = sorted(given - self.variables)
            raise ConfigError(f"prompt '{self.name}': missing {missing}, unexpected {extra}")

        def fill(template: str) -> str:
            return _PLACEHOLDER.sub(lambda m: values[m.group(1)], template)

        messages: list[BaseMessage] = []
        if self.system:
            messages.append(SystemMessage(content=fill(self.system)))
        messages.append(HumanMessage(content=fill(self.user)))
        return messages


def parse_prompt(name: str, text: str) -> Prompt:
    """Parse a prompt file's text and check its variables against its placeholders."""
    front = _FRONT.match(text)
    if not front:
        raise ConfigError(f"prompt '{name}' lacks its front matter ('---', 'variables: ...', '---')")
    declared = frozenset(v.strip() for v in front.group("vars").split(",") if v.strip())
    sections: dict[str, str] = {}
    body = text[front.end() :]
    marks = list(_SECTION.finditer(body))
    for i, mark in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(body)
        sections[mark.group(1)] = body[mark.end() : end].strip()
    if "user" not in sections:
        raise ConfigError(f"prompt '{name}' has no '## user' section")
    used = frozenset(_PLACEHOLDER.findall(sections.get("system", "") + "\n" + sections["user"]))
    if used != declared:
        raise ConfigError(
            f"prompt '{name}': placeholders {sorted(used)} do not match declared variables {sorted(declared)}"
        )
    return Prompt(name=name, variables=declared, system=sections.get("system", ""), user=sections["user"])


@lru_cache(maxsize=16)
def load_prompt(name: str, *, directory: Path = PROMPTS_DIR) -> Prompt:
    """Load ``prompts/NAME.md``."""
    path = directory / f"{name}.md"
    if not path.is_file():
        raise ConfigError(f"prompt file {path} is missing; restore it from the repository")
    return parse_prompt(name, path.read_text(encoding="utf-8"))
