"""PDF articles through pypdf, on PDFs written here byte by byte (one text page, no dependencies)."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.articles import read_file
from assistant.errors import ArticleError
from assistant.service import Assistant


def make_pdf(lines: list[str], *, title: str | None = None) -> bytes:
    """A valid one-page PDF with Helvetica text lines and an optional Info title, xref offsets computed."""
    text = "BT /F1 12 Tf 72 720 Td 14 TL " + " ".join(
        "(" + line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ") Tj T*" for line in lines
    ) + " ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(text) + text.encode("latin-1") + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    if title is not None:
        objects.append(b"<< /Title (" + title.encode("latin-1") + b") >>")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    info = b" /Info 6 0 R" if title is not None else b""
    out += b"trailer\n<< /Size %d /Root 1 0 R%s >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, info, xref)
    return bytes(out)


RELEASE = [
    "The county council today confirmed that the Ruvell bridge will reopen on Monday.",
    "Inspectors found no damage to the supports after the flood water fell.",
]


def test_pdf_text_and_title_are_read(tmp_path: Path) -> None:
    path = tmp_path / "release.pdf"
    path.write_bytes(make_pdf(RELEASE, title="Ruvell bridge to reopen"))
    [article] = read_file(path)
    assert article.title == "Ruvell bridge to reopen"
    assert "will reopen on Monday" in article.text
    assert "no damage to the supports" in article.text
    assert article.published is None  # a PDF's creation date is not a publication date


def test_pdf_sidecar_gives_the_outlet_and_date(tmp_path: Path) -> None:
    path = tmp_path / "release.pdf"
    path.write_bytes(make_pdf(RELEASE))
    path.with_suffix(".meta.json").write_text('{"source": "County Council", "published": "2025-03-21"}')
    [article] = read_file(path)
    assert (article.source, str(article.published)) == ("County Council", "2025-03-21")


def test_a_pdf_without_a_text_layer_says_to_run_ocr(tmp_path: Path) -> None:
    path = tmp_path / "scan.pdf"
    path.write_bytes(make_pdf([]))
    with pytest.raises(ArticleError, match="no text layer"):
        read_file(path)


def test_a_damaged_pdf_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "cut.pdf"
    path.write_bytes(b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog")
    with pytest.raises(ArticleError) as caught:
        read_file(path)
    assert caught.value.path == str(path)
    assert caught.value.reason.startswith(("not a readable PDF", "the PDF has no text layer"))


def test_a_pdf_ingests(fake_bot: Assistant, tmp_path: Path) -> None:
    path = tmp_path / "release.pdf"
    path.write_bytes(make_pdf(RELEASE, title="Ruvell bridge to reopen"))
    report = fake_bot.ingest([tmp_path])
    assert (report.new, report.errors) == (1, [])
