"""The change log a Chroma server's collection carries, from which a running client learns what others wrote."""

from __future__ import annotations

from assistant.store import _Change, _ChangeLog


def _log(*changes: tuple[str, str, list[str]], keep: int = 400) -> _ChangeLog:
    log = _ChangeLog()
    for prev, new, articles in changes:
        log = log.then(_Change(prev=prev, new=new, articles=articles), keep=keep)
    return log


def test_the_articles_between_two_markers_follow_the_chain_of_writes() -> None:
    log = _log(("", "m1", ["a"]), ("m1", "m2", ["b", "c"]), ("m2", "m3", ["a", "d"]))
    assert log.changed_between("m1", "m3") == {"a", "b", "c", "d"}
    assert log.changed_between("m2", "m3") == {"a", "d"}
    assert log.changed_between("m3", "m3") == set()
    assert log.changed_between("", "m1") == {"a"}


def test_the_log_cannot_say_when_a_marker_is_unknown_or_two_writes_followed_one() -> None:
    log = _log(("m1", "m2", ["b"]), ("m1", "m3", ["c"]))  # two clients wrote from m1 at once
    assert log.changed_between("m1", "m3") is None
    assert log.changed_between("m0", "m2") is None
    assert log.changed_between(None, "m2") is None
    assert _log(("m1", "m2", ["b"])).changed_between("m2", "m9") is None


def test_the_log_keeps_the_newest_writes_within_its_article_budget() -> None:
    log = _log(("m0", "m1", ["a", "b"]), ("m1", "m2", ["c"]), ("m2", "m3", ["d", "e"]), keep=3)
    assert [c.new for c in log.changes] == ["m2", "m3"]  # 1 + 2 articles
    assert log.changed_between("m1", "m3") == {"c", "d", "e"}
    assert log.changed_between("m0", "m3") is None  # fell out of the log: the reader refills whole
    assert _log(("m0", "m1", ["a", "b", "c", "d"]), keep=3).changes == []
    assert _log(("m0", "m1", ["a"]), keep=0).changes == []  # a log of none: every reader that is behind refills


def test_an_unreadable_log_reads_as_empty() -> None:
    assert _ChangeLog.read({"keyword_log": "not json"}).changes == []
    assert _ChangeLog.read({"keyword_log": '{"changes": [], "extra": 1}'}).changes == []
    assert _ChangeLog.read({}).changes == []
