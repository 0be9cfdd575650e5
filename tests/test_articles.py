"""Readers: every file either yields normalised articles or one ArticleError naming it."""

from __future__ import annotations

import hashlib
import json
import time
from datetime import date, datetime
from pathlib import Path

import pytest

from assistant.articles import (
    SUPPORTED_SUFFIXES,
    article_id,
    derive_title,
    discover,
    make_article,
    normalise_text,
    read_file,
)
from assistant.errors import ArticleError, InputError

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
SEED = SEEDS / "000_1ad185ed54b8e960.txt"
PNG_HEADER = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return path


def read_error(path: Path) -> ArticleError:
    with pytest.raises(ArticleError) as info:
        read_file(path)
    return info.value


# --------------------------------------------------------------------------- normalise_text, article_id

HINT = "use .txt, .md, .html, .jsonl, .pdf or a feed (.xml, .rss, .atom)"


def test_supported_suffixes() -> None:
    assert frozenset({".txt", ".md", ".html", ".htm", ".jsonl", ".pdf", ".xml", ".rss", ".atom"}) == SUPPORTED_SUFFIXES


def test_normalise_text_applies_every_rule() -> None:
    raw = "\ufeff  Cafe\u0301 one\u00a0two  \r\nline\t \rthree\n\n\n\n\nfour\u202fend \n\n"
    assert normalise_text(raw) == "Café one two\nline\nthree\n\nfour end"


def test_normalise_text_is_nfc_and_idempotent() -> None:
    once = normalise_text("e\u0301\r\n\r\n\r\n\r\nx")
    assert once == "\u00e9\n\nx"
    assert normalise_text(once) == once


def test_normalise_text_keeps_leading_indentation_and_blank_line() -> None:
    assert normalise_text("a\n\n  b") == "a\n\n  b"


def test_article_id_is_sha256_prefix() -> None:
    text = "Strikes hit the valley."
    assert article_id(text) == hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
    assert len(article_id(text)) == 16
    assert article_id(text) != article_id(text + " Again.")


def test_same_text_twice_same_id_whatever_the_line_endings() -> None:
    first = make_article("One.\r\n\r\nTwo.\u00a0 ")
    second = make_article("One.\n\nTwo.")
    assert first.id == second.id == article_id("One.\n\nTwo.")


# --------------------------------------------------------------------------- derive_title


def test_derive_title_uses_short_headline_line() -> None:
    assert derive_title("Strikes hit the valley\n\nJets struck on Tuesday.") == "Strikes hit the valley"


def test_derive_title_keeps_question_headline() -> None:
    assert derive_title("Will the truce hold?\n\nDiplomats met on Monday.") == "Will the truce hold?"


def test_derive_title_cuts_long_first_sentence_to_twelve_words() -> None:
    text = (
        "Israeli jets have carried out airstrikes in Lebanon's Bekaa Valley for a second consecutive day, "
        "targeting Hezbollah facilities. More followed."
    )
    # twelve words end "...Valley for a"; dangling function words are dropped before the ellipsis
    assert derive_title(text) == "Israeli jets have carried out airstrikes in Lebanon's Bekaa Valley\u2026"


def test_derive_title_short_sentence_paragraph_is_the_first_sentence() -> None:
    assert derive_title("Talks resumed. Both sides attended.\n\nMore text.") == "Talks resumed."


def test_derive_title_cut_at_exactly_twelve_words() -> None:
    text = "One two three four five six seven eight nine ten eleven twelve thirteen fourteen."
    assert derive_title(text) == "One two three four five six seven eight nine ten eleven twelve\u2026"


def test_derive_title_short_sentence_line_is_not_treated_as_headline() -> None:
    text = "Officials said the talks in Geneva would resume next week after a long pause in the process."
    assert derive_title(text) == "Officials said the talks in Geneva would resume next week after\u2026"


# --------------------------------------------------------------------------- make_article


def test_make_article_defaults() -> None:
    article = make_article("  Body text here.  ")
    assert article.text == "Body text here."
    assert article.title == "Body text here."
    assert article.source == "unknown"
    assert article.published is None
    assert article.url is None
    assert article.path is None
    assert article.id == article_id("Body text here.")


def test_make_article_keeps_given_metadata() -> None:
    article = make_article(
        "Body.",
        title="  A  title ",
        source="Wire",
        published="2024-05-31",
        url="https://example.org/a",
        path="a.txt",
    )
    assert (article.title, article.source, article.published) == ("A title", "Wire", date(2024, 5, 31))
    assert (article.url, article.path) == ("https://example.org/a", "a.txt")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-05-31T08:15:00Z", date(2024, 5, 31)),
        ("2024-05-31T23:15:00+02:00", date(2024, 5, 31)),
        ("2024-05-31 08:15", date(2024, 5, 31)),
        (date(2023, 1, 2), date(2023, 1, 2)),
        (datetime(2023, 1, 2, 3, 4), date(2023, 1, 2)),
        (None, None),
    ],
)
def test_make_article_parses_published(value: date | str | None, expected: date | None) -> None:
    assert make_article("Body.", published=value).published == expected


def test_make_article_bad_date_is_an_error() -> None:
    with pytest.raises(ArticleError) as info:
        make_article("Body.", published="31/05/2024", path="x.txt")
    assert info.value.path == "x.txt"
    assert "invalid published date '31/05/2024'" in info.value.reason


@pytest.mark.parametrize("text", ["", "   \n\t\u00a0\r\n"])
def test_make_article_empty_text_is_an_error(text: str) -> None:
    with pytest.raises(ArticleError) as info:
        make_article(text)
    assert info.value.path == "<text>"
    assert str(info.value).startswith("<text>: no text")
    assert isinstance(info.value, InputError)


def test_make_article_error_names_path() -> None:
    with pytest.raises(ArticleError) as info:
        make_article("  ", path="notes/a.txt")
    assert str(info.value) == "notes/a.txt: no text (whitespace only)"


# --------------------------------------------------------------------------- the real seed


def test_seed_article_reads_with_sidecar_metadata() -> None:
    [article] = read_file(SEED)
    raw = SEED.read_bytes().decode("utf-8")
    assert article.title == "Israeli strikes hit Lebanon's Bekaa Valley for a second day"
    assert article.source == "unknown"
    assert article.published is None
    assert article.url is None
    assert article.path == str(SEED)
    assert article.id == article_id(normalise_text(raw))
    assert article.id == "19977fe93a17bf21"  # pinned: ids are store keys, a change re-embeds everything
    assert article.text.startswith("Israeli jets have carried out airstrikes")
    assert article.text.endswith("Image is in the Public Domain.")
    assert "\u00a0" not in article.text


def test_seed_read_twice_gives_same_id() -> None:
    assert read_file(SEED)[0].id == read_file(SEED)[0].id


# --------------------------------------------------------------------------- .txt, .md and sidecars


def test_txt_without_sidecar(tmp_path: Path) -> None:
    path = write(tmp_path / "a.txt", "Strikes hit the valley\r\n\r\nJets struck on Tuesday.   \r\n")
    [article] = read_file(path)
    assert article.text == "Strikes hit the valley\n\nJets struck on Tuesday."
    assert article.title == "Strikes hit the valley"
    assert article.source == "unknown"
    assert article.path == str(path)


def test_same_text_in_two_files_same_id(tmp_path: Path) -> None:
    one = write(tmp_path / "one.txt", "Same body.\n")
    two = write(tmp_path / "two.md", "Same body.\r\n\r\n")
    assert read_file(one)[0].id == read_file(two)[0].id


def test_txt_with_full_sidecar(tmp_path: Path) -> None:
    path = write(tmp_path / "a.txt", "Body text.")
    meta = {"title": "Given title", "source": "Wire", "url": "https://e.org/a", "published": "2024-02-03"}
    write(tmp_path / "a.meta.json", json.dumps(meta))
    [article] = read_file(path)
    assert article.title == "Given title"
    assert article.source == "Wire"
    assert article.url == "https://e.org/a"
    assert article.published == date(2024, 2, 3)


def test_sidecar_nulls_mean_not_given(tmp_path: Path) -> None:
    path = write(tmp_path / "a.txt", "Headline here\n\nBody.")
    write(tmp_path / "a.meta.json", '{"title": null, "source": null, "url": null, "published": null}')
    [article] = read_file(path)
    assert (article.title, article.source, article.url, article.published) == ("Headline here", "unknown", None, None)


def test_sidecar_unknown_key_names_the_sidecar(tmp_path: Path) -> None:
    path = write(tmp_path / "a.txt", "Body.")
    sidecar = write(tmp_path / "a.meta.json", '{"title": "T", "author": "X"}')
    error = read_error(path)
    assert error.path == str(sidecar)
    assert error.reason.startswith("unknown key 'author'")


def test_sidecar_invalid_json_names_the_sidecar(tmp_path: Path) -> None:
    path = write(tmp_path / "a.txt", "Body.")
    sidecar = write(tmp_path / "a.meta.json", '{"title": "T",}')
    error = read_error(path)
    assert error.path == str(sidecar)
    assert error.reason.startswith("invalid JSON")


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ('["T"]', "must be a JSON object"),
        ('{"title": 3}', "'title' must be a string or null"),
        ('{"published": "soon"}', "invalid published date 'soon'"),
    ],
)
def test_sidecar_bad_values(tmp_path: Path, content: str, reason: str) -> None:
    path = write(tmp_path / "a.txt", "Body.")
    sidecar = write(tmp_path / "a.meta.json", content)
    error = read_error(path)
    assert error.path == str(sidecar)
    assert error.reason.startswith(reason)


def test_md_heading_is_title_and_text_is_kept(tmp_path: Path) -> None:
    path = write(tmp_path / "a.md", "# Talks resume in Geneva\n\nDelegates *met* on Monday.\n")
    [article] = read_file(path)
    assert article.title == "Talks resume in Geneva"
    assert article.text == "# Talks resume in Geneva\n\nDelegates *met* on Monday."


def test_md_sidecar_title_beats_heading(tmp_path: Path) -> None:
    path = write(tmp_path / "a.md", "# Heading\n\nBody.")
    write(tmp_path / "a.meta.json", '{"title": "Sidecar title"}')
    assert read_file(path)[0].title == "Sidecar title"


def test_md_without_heading_derives_title(tmp_path: Path) -> None:
    path = write(tmp_path / "a.md", "Delegates met on Monday. They agreed.")
    assert read_file(path)[0].title == "Delegates met on Monday."


# --------------------------------------------------------------------------- .html

HIDDEN_MARKERS = [
    "SCRIPT_TEXT",
    "STYLE_TEXT",
    "NOSCRIPT_TEXT",
    "TEMPLATE_TEXT",
    "NAV_TEXT",
    "HEADER_TEXT",
    "FOOTER_TEXT",
    "ASIDE_TEXT",
    "FORM_TEXT",
    "IFRAME_TEXT",
    "SVG_TEXT",
    "HIDDEN_ATTR",
    "ARIA_TEXT",
    "DISPLAY_NONE",
    "VIS_HIDDEN",
    "COMMENT_TEXT",
    "HEAD_TITLE_ONLY",
]

PAGE = """<!doctype html>
<html><head><title> Strikes hit
 the valley HEAD_TITLE_ONLY</title>
<meta property="og:site_name" content="Daily Example">
<meta name="author" content="Jane Roe">
<meta property="article:published_time" content="2024-05-31T08:15:00Z">
<link rel="canonical" href="https://example.org/a">
<style>body { color: red } STYLE_TEXT</style>
<script>var SCRIPT_TEXT = 1;</script>
</head>
<body>
<header>HEADER_TEXT</header><nav><a href="/">NAV_TEXT</a></nav>
<article>
<p>First   paragraph with <b>bold</b> and <a href="#">a&nbsp;link</a> &amp; more.</p>
<div hidden>HIDDEN_ATTR</div><span aria-hidden="true">ARIA_TEXT</span>
<p style="display: none">DISPLAY_NONE</p><p style="color: red; visibility:hidden">VIS_HIDDEN</p>
<div><div><p>Second paragraph.<br>After a break.</p></div></div>
<ul><li>one</li> <li>two</li></ul>
<noscript>NOSCRIPT_TEXT</noscript><template>TEMPLATE_TEXT</template>
<aside>ASIDE_TEXT</aside><form>FORM_TEXT<input name="q"></form>
<iframe>IFRAME_TEXT</iframe><svg><text>SVG_TEXT</text></svg>
<!-- COMMENT_TEXT -->
</article>
<footer>FOOTER_TEXT</footer>
</body></html>
"""


def test_html_visible_text_only(tmp_path: Path) -> None:
    [article] = read_file(write(tmp_path / "page.html", PAGE))
    assert article.text == (
        "First paragraph with bold and a link & more.\n\nSecond paragraph.\nAfter a break.\n\none\ntwo"
    )
    for marker in HIDDEN_MARKERS:
        assert marker not in article.text


def test_html_metadata(tmp_path: Path) -> None:
    [article] = read_file(write(tmp_path / "page.html", PAGE))
    assert article.title == "Strikes hit the valley HEAD_TITLE_ONLY"
    assert article.source == "Daily Example"
    assert article.published == date(2024, 5, 31)
    assert article.url == "https://example.org/a"


def test_html_fallbacks_h1_author_og_url(tmp_path: Path) -> None:
    page = """<html><head><meta name="author" content="Jane Roe">
    <meta property="og:url" content="https://example.org/og"></head>
    <body><h1>Headline from h1</h1><p>Body text.</p></body></html>"""
    [article] = read_file(write(tmp_path / "page.htm", page))
    assert article.title == "Headline from h1"
    assert article.author == "Jane Roe"  # a byline, not the outlet
    assert article.source == "example.org"  # the host the page states as its address
    assert article.url == "https://example.org/og"
    assert article.text == "Body text."  # the headline is the title, not the first paragraph


def test_html_without_title_derives_one_and_ignores_bad_meta_date(tmp_path: Path) -> None:
    page = '<meta property="article:published_time" content="yesterday"><p>Only a paragraph here. Then more.</p>'
    [article] = read_file(write(tmp_path / "page.html", page))
    assert article.title == "Only a paragraph here."
    assert article.published is None
    assert article.source == "unknown"


def test_html_sidecar_overrides_page_metadata(tmp_path: Path) -> None:
    path = write(tmp_path / "page.html", PAGE)
    write(tmp_path / "page.meta.json", '{"title": "Sidecar", "source": "Desk", "published": "2020-01-01"}')
    [article] = read_file(path)
    assert (article.title, article.source, article.published) == ("Sidecar", "Desk", date(2020, 1, 1))
    assert article.url == "https://example.org/a"


def test_html_with_no_visible_text(tmp_path: Path) -> None:
    page = "<html><head><title>T</title><script>x()</script></head><body><nav>menu</nav><p hidden>x</p></body></html>"
    error = read_error(write(tmp_path / "empty.html", page))
    assert error.reason == "no visible text"


def test_html_nested_ten_thousand_levels_finishes(tmp_path: Path) -> None:
    page = "<div>" * 10_000 + "<p>deep text</p>" + "</div>" * 10_000
    started = time.monotonic()
    [article] = read_file(write(tmp_path / "deep.html", page))
    assert article.text == "deep text"
    assert time.monotonic() - started < 30


def test_html_unclosed_tags(tmp_path: Path) -> None:
    page = "<html><body><p>unclosed <b>bold <i>italic<p>next paragraph<div><span>" * 3
    [article] = read_file(write(tmp_path / "broken.html", page))
    assert article.text.startswith("unclosed bold italic\n\nnext paragraph")
    assert article.text.count("next paragraph") == 3


def test_html_deep_unclosed_nesting(tmp_path: Path) -> None:
    page = "<div><span><b>" * 10_000 + "still readable"
    [article] = read_file(write(tmp_path / "deep.html", page))
    assert article.text == "still readable"


# --------------------------------------------------------------------------- decoding


@pytest.mark.parametrize("codec", ["utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be"])
def test_bom_encodings_decode(tmp_path: Path, codec: str) -> None:
    text = "Café “quoted” — naïve ünïcode."
    data = text.encode(codec)
    if codec.endswith(("-le", "-be")):
        data = ("\ufeff" + text).encode(codec)  # explicit BOM in the file's own byte order
    [article] = read_file(write(tmp_path / "a.txt", data))
    assert article.text == text


def test_utf16_bom_with_windows_newlines(tmp_path: Path) -> None:
    data = "Title line\r\n\r\nBody.\r\n".encode("utf-16")
    assert data[:2] in {b"\xff\xfe", b"\xfe\xff"}
    [article] = read_file(write(tmp_path / "a.txt", data))
    assert article.text == "Title line\n\nBody."
    assert article.title == "Title line"


def test_cp1252_decodes_correctly(tmp_path: Path) -> None:
    [article] = read_file(write(tmp_path / "a.txt", b"caf\xe9 \x93quoted\x94"))
    assert article.text == "café “quoted”"


def test_longer_cp1252_decodes_correctly(tmp_path: Path) -> None:
    text = "Le café était “très” bon, déjà vu à l'école. Naïve façade — 5 €."
    [article] = read_file(write(tmp_path / "a.txt", text.encode("cp1252")))
    assert article.text == text


def test_cp1251_is_not_forced_into_cp1252(tmp_path: Path) -> None:
    text = "Президент заявил, что переговоры продолжатся в следующем месяце."
    [article] = read_file(write(tmp_path / "a.txt", text.encode("cp1251")))
    assert article.text == text


def test_invalid_bom_content_is_an_error(tmp_path: Path) -> None:
    error = read_error(write(tmp_path / "a.txt", b"\xef\xbb\xbfcaf\xe9"))
    assert "byte-order mark" in error.reason


def test_png_renamed_txt_is_rejected(tmp_path: Path) -> None:
    error = read_error(write(tmp_path / "photo.txt", PNG_HEADER + bytes(range(256))))
    assert error.reason.startswith("binary content, not text")
    assert error.path == str(tmp_path / "photo.txt")


@pytest.mark.parametrize(
    "header",
    [b"\xff\xd8\xff\xe0", b"GIF89a", b"%PDF-1.7\n", b"PK\x03\x04", b"\x7fELF\x02", b"\x1f\x8b\x08"],
)
def test_known_magic_numbers_are_rejected(tmp_path: Path, header: bytes) -> None:
    error = read_error(write(tmp_path / "file.md", header + b"looks like text afterwards"))
    assert error.reason.startswith("binary content, not text")


def test_nul_bytes_are_binary(tmp_path: Path) -> None:
    error = read_error(write(tmp_path / "a.txt", b"abc\x00\x01\x02def\x00ghi"))
    assert error.reason == "binary content, not text"


def test_many_control_characters_are_binary(tmp_path: Path) -> None:
    error = read_error(write(tmp_path / "a.txt", b"text" + b"\x01\x02\x03\x04\x05" * 4 + b"more text here"))
    assert error.reason == "binary content, not text"


def test_few_control_characters_are_tolerated(tmp_path: Path) -> None:
    [article] = read_file(write(tmp_path / "a.txt", b"A normal sentence with one bell\x07 in it."))
    assert article.text == "A normal sentence with one bell\x07 in it."


def test_empty_file(tmp_path: Path) -> None:
    assert read_error(write(tmp_path / "a.txt", b"")).reason == "empty file"


@pytest.mark.parametrize("name", ["a.txt", "a.md", "a.html"])
def test_whitespace_only_file(tmp_path: Path, name: str) -> None:
    assert read_error(write(tmp_path / name, " \r\n\t\n  ")).reason == "no text (whitespace only)"


def test_file_too_large(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    with path.open("wb") as handle:
        handle.truncate(21 * 1024 * 1024)
    error = read_error(path)
    assert error.reason == "file too large (21.0 MB; limit 20 MB)"


def test_file_of_exactly_the_limit_is_read(tmp_path: Path) -> None:
    line = b"All work and no play makes a dull article.\n"
    data = line * (20 * 1024 * 1024 // len(line))
    [article] = read_file(write(tmp_path / "big.txt", data))
    assert article.text.startswith("All work")


def test_missing_file(tmp_path: Path) -> None:
    assert read_error(tmp_path / "nope.txt").reason == "no such file"


def test_read_file_unsupported_suffix(tmp_path: Path) -> None:
    error = read_error(write(tmp_path / "a.docx", b"PK\x03\x04"))
    assert error.reason == f"unsupported file type '.docx'; {HINT}"


def test_uppercase_suffix_is_supported(tmp_path: Path) -> None:
    assert read_file(write(tmp_path / "A.TXT", "Body."))[0].text == "Body."


# --------------------------------------------------------------------------- .jsonl


def test_jsonl_good_file(tmp_path: Path) -> None:
    lines = [
        json.dumps({"text": "First article body.", "title": "First", "source": "Wire", "published": "2024-01-02"}),
        "",
        "   ",
        json.dumps({"text": "Second article body.\r\n\r\n\r\nMore.", "url": "https://e.org/2", "published": None}),
    ]
    path = write(tmp_path / "batch.jsonl", "\n".join(lines) + "\n")
    first, second = read_file(path)
    assert (first.title, first.source, first.published) == ("First", "Wire", date(2024, 1, 2))
    assert first.text == "First article body."
    assert second.text == "Second article body.\n\nMore."
    assert (second.title, second.source, second.url) == ("Second article body.", "unknown", "https://e.org/2")
    assert first.path == second.path == str(path)
    assert second.id == article_id("Second article body.\n\nMore.")


@pytest.mark.parametrize(
    ("bad_line", "reason"),
    [
        ('{"text": "unterminated', "invalid JSON"),
        ('["not", "an", "object"]', "each line must be a JSON object"),
        ('{"title": "no text"}', "missing required key 'text'"),
        ('{"text": 5}', "'text' must be a string"),
        ('{"text": "Body.", "author": "x"}', "unknown key 'author'"),
        ('{"text": "Body.", "published": "someday"}', "invalid published date 'someday'"),
        ('{"text": "Body.", "source": 7}', "'source' must be a string or null"),
        ('{"text": "   "}', "no text (whitespace only)"),
    ],
)
def test_jsonl_one_bad_line_fails_whole_file(tmp_path: Path, bad_line: str, reason: str) -> None:
    good = json.dumps({"text": "A good article."})
    path = write(tmp_path / "batch.jsonl", f"{good}\n\n{bad_line}\n{good}\n")
    error = read_error(path)
    assert error.path == f"{path}:3"
    assert error.reason.startswith(reason)
    assert str(error).startswith(f"{path}:3: ")


def test_jsonl_only_blank_lines(tmp_path: Path) -> None:
    assert read_error(write(tmp_path / "a.jsonl", "\n \n")).reason == "no text (whitespace only)"


def test_jsonl_sidecar_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "a.jsonl", '{"text": "Body."}\n')
    sidecar = write(tmp_path / "a.meta.json", '{"source": "Wire"}')
    error = read_error(path)
    assert error.path == str(sidecar)
    assert "does not apply to .jsonl" in error.reason


# --------------------------------------------------------------------------- discover


def test_discover_recurses_sorted_and_skips(tmp_path: Path) -> None:
    root = tmp_path / "news"
    for name in ["b.txt", "a.md", "sub/c.html", "sub/deeper/d.jsonl", "sub/e.htm", "Z.TXT"]:
        write(root / name, "x")
    for name in [
        "a.meta.json",
        "notes.docx",
        "image.png",
        "README",
        ".hidden.txt",
        ".git/config.txt",
        "sub/.cache/f.txt",
    ]:
        write(root / name, "x")
    files, errors = discover([root])
    assert errors == []
    assert [p.relative_to(root).as_posix() for p in files] == sorted(
        ["Z.TXT", "a.md", "b.txt", "sub/c.html", "sub/deeper/d.jsonl", "sub/e.htm"]
    )


def test_discover_reports_missing_and_unsupported(tmp_path: Path) -> None:
    good = write(tmp_path / "a.txt", "x")
    pdf = write(tmp_path / "paper.docx", b"PK\x03\x04")
    sidecar = write(tmp_path / "a.meta.json", "{}")
    missing = tmp_path / "missing.txt"
    files, errors = discover([missing, good, pdf, sidecar])
    assert files == [good]
    assert [(e.path, e.reason) for e in errors] == [
        (str(missing), "no such file or folder"),
        (str(pdf), f"unsupported file type '.docx'; {HINT}"),
        (str(sidecar), "is a metadata sidecar; name the article file it describes"),
    ]
    assert str(errors[1]) == f"{pdf}: unsupported file type '.docx'; {HINT}"


def test_discover_explicit_hidden_file_is_kept_and_duplicates_dropped(tmp_path: Path) -> None:
    hidden = write(tmp_path / ".draft.txt", "x")
    plain = write(tmp_path / "a.txt", "x")
    files, errors = discover([hidden, tmp_path, plain])
    assert files == [hidden, plain]
    assert errors == []


def test_discover_empty_folder(tmp_path: Path) -> None:
    assert discover([tmp_path]) == ([], [])


def test_discover_then_read_seeds() -> None:
    files, errors = discover([SEEDS])
    assert errors == []
    assert files == [SEED]
    assert [read_file(p)[0].title for p in files] == ["Israeli strikes hit Lebanon's Bekaa Valley for a second day"]
