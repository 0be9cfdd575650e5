"""The figure guard: a value that an alike sentence of another source replaces is never stated as fact, even when
the contested detector does not pair the two sentences (table-like snippets, names at the start of a sentence)."""

from __future__ import annotations

import pytest

from assistant.briefs import BriefOptions, build_brief
from assistant.stories import guard_values, sentence_units
from tests.test_briefs import FIXED, chunk, tools

_RELEASE = ("The role-playing game was released on {value} for the Nintendo Switch, with a single-player mode "
            "and a long story campaign.")
_LEAD = ("{value} directed the film adaptation of Assassin's Creed, which Ubisoft produced with New Regency "
         "and released in December.")
_OTHER = ("Critics praised the story, the music and the many hours of play it offers after a long and difficult "
          "development.")


def _cluster(template: str, true: str, fake: str) -> list:
    """Two sources with the true value after another sentence, one with the value changed in its lead sentence
    (the most salient place, so that nothing but a guard keeps it out)."""
    late = f"{_OTHER} {template.format(value=true)}"
    early = f"{template.format(value=fake)} {_OTHER}"
    return [chunk("a" * 16, 0, late, source="outlet a"), chunk("b" * 16, 0, late, source="outlet b"),
            chunk("c" * 16, 0, early, source="outlet c")]


def _stated(brief: object) -> str:
    sections = [*brief.summary, *brief.key_facts, *(e.statement for e in brief.timeline)]  # type: ignore[attr-defined]
    return " ".join(s.text for s in sections)


@pytest.mark.parametrize(("template", "true", "fake"), [
    (_RELEASE, "May 29, 2020", "May 9, 2012"),  # a changed date
    (_LEAD, "Justin Kurzel", "James Cameron"),  # a changed name opening the sentence
])
def test_a_changed_value_never_reaches_the_facts_even_with_the_detector_off(template: str, true: str,
                                                                             fake: str) -> None:
    chunks = _cluster(template, true, fake)
    stress = {"facts_size": 30, "timeline_size": 30, "detect_conflicts": False}
    unguarded = build_brief(chunks, tools=tools(), provenance=FIXED,
                            options=BriefOptions(**stress, figure_guard=False))  # type: ignore[arg-type]
    assert fake in _stated(unguarded)  # without the guard the changed value is stated as fact
    guarded = build_brief(chunks, tools=tools(), provenance=FIXED, options=BriefOptions(**stress))  # type: ignore[arg-type]
    assert fake not in _stated(guarded) and true not in _stated(guarded)  # neither side picked silently
    assert "Critics praised the story" in _stated(guarded)  # what nobody disputes is still stated


def test_agreeing_sources_are_left_alone() -> None:
    chunks = _cluster(_RELEASE, "May 29, 2020", "May 29, 2020")
    brief = build_brief(chunks, tools=tools(), provenance=FIXED, options=BriefOptions(facts_size=30))
    assert "May 29, 2020" in _stated(brief)
    units = sentence_units(chunks)
    from assistant.stories import embed_units
    assert guard_values(units, embed_units(units, tools().embeddings)) == []


def test_a_paraphrase_without_a_changed_value_is_not_a_conflict() -> None:
    chunks = [chunk("a" * 16, 0, "The mayor of Marlow said 12 people were killed in the floods on Tuesday."),
              chunk("b" * 16, 0, "The mayor of Marlow said that 12 people died in the floods on Tuesday.")]
    units = sentence_units(chunks)
    from assistant.stories import embed_units
    assert guard_values(units, embed_units(units, tools().embeddings)) == []
