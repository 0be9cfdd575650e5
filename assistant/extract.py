"""HTML pages to article text and metadata, as a reader sees them.

Two steps, in this order:

1. Everything a reader cannot see is removed first (``hidden``, ``aria-hidden``, inline and
   ``<style>``-sheet ``display:none``, ``visibility:hidden``, zero size, zero opacity, off-screen
   placement). Hidden text is an injection channel: a page can carry instructions to the model
   that no reader would ever notice, and the extractor does not promise to drop them.
2. trafilatura finds the main text (menus, banners, comments and "related" lists left out) and
   reads the page's metadata. When it finds nothing, the page's whole visible text is used, so a
   short or unusual page still ingests rather than failing.

The title, outlet, author and date follow a fixed precedence (see ``page_meta``); anything the
page does not state stays unknown.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlsplit

import trafilatura
from selectolax.lexbor import LexborHTMLParser, LexborNode, SelectolaxError
from trafilatura.settings import Document

# --------------------------------------------------------------------------- hidden text

_HIDDEN_DECLARATIONS = re.compile(
    r"display\s*:\s*none|visibility\s*:\s*(?:hidden|collapse)|opacity\s*:\s*0(?:\.0+)?\s*(?:;|$|!)"
    r"|font-size\s*:\s*0(?:\.0+)?(?:px|em|rem|pt|%)?\s*(?:;|$|!)"
    r"|(?:left|top|text-indent)\s*:\s*-\d{3,}(?:\.\d+)?(?:px|em|rem)?"
    r"|clip\s*:\s*rect\(\s*0(?:px)?[\s,]+0(?:px)?[\s,]+0(?:px)?[\s,]+0(?:px)?\s*\)"
    r"|clip-path\s*:\s*inset\(\s*50%",
    re.IGNORECASE,
)
_ZERO_SIZE = re.compile(r"(?:^|;)\s*(?:max-)?(width|height)\s*:\s*0(?:\.0+)?(?:px|em|rem|%)?\s*(?=;|$|!)", re.I)
_OVERFLOW_HIDDEN = re.compile(r"overflow\s*:\s*hidden", re.IGNORECASE)
_CSS_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
_MAX_CSS_SELECTORS = 500
_ALWAYS_HIDDEN = "template, input[type=hidden], [hidden], [aria-hidden=true], [aria-hidden=TRUE], [aria-hidden=True]"
# Elements whose text is not article text: shown only without scripts, embedded documents, graphics, controls.
_NOT_TEXT = "noscript, iframe, frame, object, embed, svg, canvas, audio, video, select, datalist, button, math"


def style_hides(style: str) -> bool:
    """True when CSS declarations make an element invisible to a reader."""
    if _HIDDEN_DECLARATIONS.search(style):
        return True
    sizes = {m.group(1).lower() for m in _ZERO_SIZE.finditer(style)}
    # A zero-height box shows its text unless overflow is hidden; zero by zero with overflow hidden shows nothing.
    return bool(sizes) and (sizes == {"width", "height"} or bool(_OVERFLOW_HIDDEN.search(style)))


def _top_level_rules(css: str) -> Iterator[tuple[str, str]]:
    """(selectors, declarations) of the rules outside any at-rule block (@media print hides only on paper)."""
    depth, start, prelude = 0, 0, ""
    for i, char in enumerate(css):
        if char == "{":
            if depth == 0:
                prelude, start = css[start:i], i + 1
            depth += 1
        elif char == "}" and depth:
            depth -= 1
            if depth == 0:
                if not prelude.lstrip().startswith("@"):
                    yield prelude, css[start:i]
                start = i + 1
        elif char == ";" and depth == 0:
            start = i + 1  # a statement at-rule such as @import


def _stylesheet_selectors(tree: LexborHTMLParser) -> Iterator[str]:
    """Selectors of ``<style>`` rules that hide what they match."""
    found = 0
    for node in tree.css("style"):
        css = _CSS_COMMENT.sub("", node.text(deep=True) or "")
        for selectors, body in _top_level_rules(css):
            if "{" in body or not style_hides(body):
                continue
            for selector in selectors.split(","):
                selector = selector.strip()
                if selector and ":" not in selector:  # pseudo-classes (:hover, :focus) hide only sometimes
                    found += 1
                    if found > _MAX_CSS_SELECTORS:
                        return
                    yield selector


def _matching(tree: LexborHTMLParser, selector: str) -> list[LexborNode]:
    try:
        return list(tree.css(selector))
    except (SelectolaxError, ValueError, TypeError):  # selectors lexbor cannot parse are left alone
        return []


_CONTROL_FORM_CHARS = 500
_NEVER_REMOVED = frozenset({"html", "head", "body"})
# A stylesheet rule that hides most of the page is a script's "reveal when loaded" (anti-flicker) rule, not
# hidden text: applying it would throw the article away.
_SHEET_MAX_SHARE = 0.5


def _is_control_form(node: LexborNode) -> bool:
    """A search box or sign-up; some sites wrap their whole page, article included, in one big form."""
    return node.css_first("p, article, main") is None and len(node.text(deep=True)) < _CONTROL_FORM_CHARS


def _sheet_hidden(tree: LexborHTMLParser) -> list[LexborNode]:
    """Elements that the page's own ``<style>`` rules hide, unless a rule would hide most of the page."""
    body = tree.body
    total = len((body.text(deep=True, separator=" ") if body is not None else "").split())
    found: list[LexborNode] = []
    for selector in _stylesheet_selectors(tree):
        for node in _matching(tree, selector):
            if len(node.text(deep=True, separator=" ").split()) <= _SHEET_MAX_SHARE * total:
                found.append(node)
    return found


def _outermost(nodes: list[LexborNode]) -> list[LexborNode]:
    """The nodes none of whose ancestors is also listed, once each: removing a parent frees its children."""
    ids = {node.mem_id for node in nodes}
    kept: dict[int, LexborNode] = {}
    for node in nodes:
        if node.tag in _NEVER_REMOVED or node.mem_id in kept:
            continue
        parent = node.parent
        while parent is not None and parent.mem_id not in ids:
            parent = parent.parent
        if parent is None:
            kept[node.mem_id] = node
    return list(kept.values())


def strip_hidden(tree: LexborHTMLParser) -> int:
    """Remove every element a reader cannot see, and those that carry no article text; returns how many went."""
    doomed: list[LexborNode] = list(tree.css(_ALWAYS_HIDDEN))
    doomed += list(tree.css(_NOT_TEXT))
    doomed += [node for node in tree.css("form") if _is_control_form(node)]
    doomed += [node for node in tree.css("[style]") if style_hides(node.attributes.get("style") or "")]
    doomed += _sheet_hidden(tree)
    outermost = _outermost(doomed)
    for node in outermost:
        node.decompose()
    return len(outermost)


# --------------------------------------------------------------------------- metadata


@dataclass(frozen=True)
class PageMeta:
    """What a page states about itself; None means it does not say."""

    title: str | None = None
    source: str | None = None
    author: str | None = None
    published: date | None = None
    url: str | None = None


_TITLE_SEPARATORS = re.compile(r"\s+[|\u2013\u2014\u00b7:\-\u2022\u00bb]\s+")
_SUFFIX_MAX_WORDS = 4


def _one_line(value: str | None) -> str | None:
    return " ".join(value.split()) or None if value else None


def _metas(tree: LexborHTMLParser) -> dict[str, str]:
    metas: dict[str, str] = {}
    for node in tree.css("meta"):
        key = (node.attributes.get("property") or node.attributes.get("name") or "").strip().lower()
        content = _one_line(node.attributes.get("content"))
        if key and content:
            metas.setdefault(key, content)
    return metas


def _json_ld_objects(tree: LexborHTMLParser) -> Iterator[dict[str, object]]:
    """Every object in the page's JSON-LD blocks, flattening lists and ``@graph``."""
    for node in tree.css('script[type="application/ld+json"]'):
        try:
            data = json.loads(node.text(deep=True) or "")
        except (json.JSONDecodeError, RecursionError):  # broken or absurdly nested markup: the page states nothing
            continue
        stack: list[object] = [data]
        while stack:
            item = stack.pop()
            if isinstance(item, list):
                stack.extend(item)
            elif isinstance(item, dict):
                yield item
                graph = item.get("@graph")
                if isinstance(graph, list):
                    stack.extend(graph)


def _json_ld_headline(tree: LexborHTMLParser) -> str | None:
    for obj in _json_ld_objects(tree):
        kind = obj.get("@type")
        kinds = kind if isinstance(kind, list) else [kind]
        if any(isinstance(k, str) and k.endswith("Article") for k in kinds):
            headline = obj.get("headline")
            if isinstance(headline, str) and headline.strip():
                return _one_line(headline)
    return None


def _strip_site_suffix(title: str, site: str | None, *, generic: bool) -> str:
    """'Floods close bridge | The Daily Ledger' -> 'Floods close bridge': drop a trailing site name.

    The suffix goes when it is the page's stated site name, or (``generic``) when it is a few words
    after a longer headline, which is how page titles name their site when the page does not say.
    """
    parts = _TITLE_SEPARATORS.split(title)
    if len(parts) < 2:
        return title
    last = parts[-1].strip()
    head = _trim_separator(title[: title.rfind(last)])
    named = site is not None and last.casefold() == site.casefold()
    short = len(last.split()) <= _SUFFIX_MAX_WORDS and len(head.split()) > len(last.split())
    return head if head and (named or (generic and short)) else title


def _trim_separator(head: str) -> str:
    return re.sub(r"\s*[|\u2013\u2014\u00b7:\-\u2022\u00bb]\s*$", "", head).strip()


def page_title(tree: LexborHTMLParser, metas: dict[str, str], site: str | None) -> str | None:
    """The headline: og:title, twitter:title, JSON-LD headline, the only h1, then <title> without its site suffix."""
    for key in ("og:title", "twitter:title"):
        if metas.get(key):
            return _strip_site_suffix(metas[key], site, generic=False)
    headline = _json_ld_headline(tree)
    if headline:
        return headline
    h1s = tree.css("h1")
    if len(h1s) == 1:
        text = _one_line(h1s[0].text(deep=True))
        if text:
            return text
    node = tree.css_first("title")
    title = _one_line(node.text(deep=True)) if node is not None else None
    return _strip_site_suffix(title, site, generic=True) if title else None


def canonical_url(tree: LexborHTMLParser) -> str | None:
    """The page's own address (``<link rel=canonical>``, else ``og:url``) when it is an http(s) URL."""
    return _canonical(tree, _metas(tree))


def _canonical(tree: LexborHTMLParser, metas: dict[str, str]) -> str | None:
    for node in tree.css("link[href]"):
        if "canonical" in (node.attributes.get("rel") or "").lower().split():
            href = _one_line(node.attributes.get("href"))
            if href and urlsplit(href).scheme in {"http", "https"}:
                return href
    url = metas.get("og:url")
    return url if url and urlsplit(url).scheme in {"http", "https"} else None


def _date(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def page_meta(tree: LexborHTMLParser, document: Document | None, *, url: str | None) -> PageMeta:
    """Metadata the page states, read from its meta tags, JSON-LD and URL (never guessed from the text)."""
    metas = _metas(tree)
    site = _one_line(metas.get("og:site_name")) or _one_line(document.sitename if document else None)
    return PageMeta(
        title=page_title(tree, metas, site) or _one_line(document.title if document else None),
        source=site,
        author=_one_line(document.author if document else None) or metas.get("author"),
        published=_date(document.date if document else None),
        url=_canonical(tree, metas) or url,
    )


# --------------------------------------------------------------------------- text

# htmldate's extensive search reads dates out of the running text; off, only markup and the URL count.
_DATE_PARAMS = {"extensive_search": False, "original_date": True}


def run_trafilatura(html: str, *, url: str | None) -> Document | None:
    """Main text and metadata of a page; None when trafilatura finds no article in it."""
    document = trafilatura.bare_extraction(
        html,
        url=url,
        with_metadata=True,
        include_comments=False,
        include_tables=True,
        include_images=False,
        date_extraction_params=_DATE_PARAMS,
    )
    return document if isinstance(document, Document) else None


def paragraphs(text: str) -> str:
    """trafilatura's one-line-per-block text with blank lines between blocks, as the chunker expects."""
    lines = (" ".join(line.split()) for line in text.split("\n"))
    return "\n\n".join(line for line in lines if line)


def without_headline(text: str, title: str | None) -> str:
    """The body without a leading copy of the headline, which the article keeps as its title instead."""
    first, _, rest = text.partition("\n\n")
    if title and rest and " ".join(first.split()).casefold() == title.casefold():
        return rest
    return text
