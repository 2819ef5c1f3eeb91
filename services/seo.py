"""Deterministic SEO analysis of a piece of content: named, weighted checks summed into a 0-100 score.

Pure functions only (no model, no I/O, no database), so the same input always gives the same score
and the optimizer can re-score a draft as often as it likes.
"""

from __future__ import annotations

import functools
import html as html_entities
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

from models.accounts import Site
from models.writer import Content, Task

if TYPE_CHECKING:
    from textstat.textstat import textstatistics

# (id, weight) in report order; the weights sum to 100 so the score reads as a percentage.
CHECKS: tuple[tuple[str, int], ...] = (
    ("keyword_in_title", 10),
    ("keyword_in_meta_title", 8),
    ("keyword_in_first_100_words", 8),
    ("keyword_in_h2", 8),
    ("keyword_in_slug", 6),
    ("keyword_density", 10),
    ("meta_title_length", 8),
    ("meta_description_length", 8),
    ("word_count", 10),
    ("single_h1", 4),
    ("heading_hierarchy", 5),
    ("image_alt_text", 5),
    ("internal_links", 5),
    ("readability", 5),
)
WEIGHTS: dict[str, int] = dict(CHECKS)
KEYWORD_CHECKS = frozenset(
    {
        "keyword_in_title",
        "keyword_in_meta_title",
        "keyword_in_first_100_words",
        "keyword_in_h2",
        "keyword_in_slug",
        "keyword_density",
    }
)

DEFAULT_MIN_WORDS = 300
DENSITY_RANGE = (0.5, 2.5)  # percent
META_TITLE_RANGE = (30, 60)  # characters
META_DESCRIPTION_RANGE = (70, 160)  # characters
MIN_INTERNAL_LINKS = 2
MIN_READING_EASE = 50.0
FIRST_WORDS = 100
NO_KEYWORD = "No primary keyword set."

# Letters/digits, with apostrophes (' and U+2019) and hyphens (- and U+2010) kept only *inside* a word
# ("don't", "state-of-the-art").
_WORD = re.compile("[^\\W_]+(?:['\u2019\u2010-][^\\W_]+)*")
_HYPHEN = re.compile("[\u2010-]")
_EN_DASH = "\u2013"  # ranges in details read "30<en dash>60"; ruff flags a literal one as ambiguous
# The HTML tag tables, here once for every reader of HTML (services.linker too).
HEADING_LEVELS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
# Their content is never shown as page text.
HIDDEN_TAGS = frozenset({"script", "style", "noscript", "template", "title"})
# Tags that start a new line on the page: their text must not run into the neighbouring text
# ("<p>one</p><p>two</p>" is two words), and each block is its own sentence for readability.
BLOCK_TAGS = frozenset(
    {
        "address", "article", "aside", "blockquote", "br", "caption", "dd", "details", "div", "dl", "dt",
        "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li",
        "main", "nav", "ol", "p", "pre", "section", "summary", "table", "td", "th", "tr", "ul",
    }
)  # fmt: skip
_SENTENCE_END = (".", "!", "?", "\u2026")
_CLOSERS = "\"')]\u201d\u2019\u00bb"  # may follow a sentence's full stop: 'He said "stop."'


# textstat 0.7.13 counts English syllables with NLTK's cmudict and calls nltk.download() when the
# corpus is missing: network I/O from a pure function, and a LookupError when offline. It takes the
# language root as the part before "_", so to it "en-US" is not English: no cmudict, syllables come
# from pyphen's en_US dictionary (pyphen reads "-" like "_"), and the Flesch constants fall back to
# the English ones. A private instance keeps that setting away from other users of textstat. Made
# on first use: importing textstat loads NLTK, which takes longer than the rest of the server's start.
@functools.cache
def _textstat() -> textstatistics:
    from textstat.textstat import textstatistics

    stats = textstatistics()
    stats.set_lang("en-US")
    return stats


@dataclass(frozen=True)
class ContentInput:
    title: str
    html: str
    meta_title: str = ""
    meta_description: str = ""
    primary_keyword: str = ""
    slug: str = ""
    target_word_count: int | None = None  # the task's target; None → the check uses DEFAULT_MIN_WORDS
    site_domain: str | None = None  # links to this host (or relative links) count as internal


@dataclass(frozen=True)
class _Link:
    href: str
    in_heading: bool


@dataclass
class _Page:
    blocks: list[str] = field(default_factory=list)
    headings: list[tuple[int, str]] = field(default_factory=list)
    links: list[_Link] = field(default_factory=list)
    image_alts: list[str | None] = field(default_factory=list)

    @property
    def text(self) -> str:
        return " ".join(self.blocks)


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = _Page()
        self._block: list[str] = []
        self._hidden_depth = 0
        self._heading: tuple[int, list[str]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in HIDDEN_TAGS:
            self._hidden_depth += 1
        if self._hidden_depth:
            return
        if tag in BLOCK_TAGS:
            self._end_block()
        if tag in HEADING_LEVELS:
            # A heading can't contain another one; a new one closes an unclosed predecessor.
            self._end_heading()
            self._heading = (HEADING_LEVELS[tag], [])
        elif tag == "a":
            href = dict(attrs).get("href")
            if href is not None:
                self.page.links.append(_Link(href.strip(), self._heading is not None))
        elif tag == "img":
            self.page.image_alts.append(dict(attrs).get("alt"))

    def handle_endtag(self, tag: str) -> None:
        if tag in HIDDEN_TAGS:
            self._hidden_depth = max(0, self._hidden_depth - 1)
            return
        if self._hidden_depth:
            return
        if tag in HEADING_LEVELS:
            self._end_heading()
        if tag in BLOCK_TAGS:
            self._end_block()

    def handle_data(self, data: str) -> None:
        if self._hidden_depth:
            return
        self._block.append(data)
        if self._heading is not None:
            self._heading[1].append(data)

    def close(self) -> None:
        super().close()
        self._end_heading()
        self._end_block()

    def _end_block(self) -> None:
        text = _collapse("".join(self._block))
        if text:
            self.page.blocks.append(text)
        self._block = []

    def _end_heading(self) -> None:
        if self._heading is not None:
            level, parts = self._heading
            self.page.headings.append((level, _collapse("".join(parts))))
            self._heading = None


def _collapse(text: str) -> str:
    return " ".join(text.split())


def _parse(html: str) -> _Page:
    parser = _Parser()
    parser.feed(html or "")
    parser.close()
    return parser.page


def _words(text: str) -> list[str]:
    return _WORD.findall(text)


def html_text(html: str) -> str:
    """The visible text of `html` (no tags, no script/style content), whitespace collapsed."""
    return _parse(html).text


def _word_count(text: str) -> int:
    """`len(_words(text))` at under half its cost on prose (every article written is counted).

    No word holds whitespace, so the words of `text` are those of its whitespace-separated tokens:
    a token of letters and digits alone (`str.isalnum`, the `[^\\W_]` of `_WORD`) is one word, and
    only the others (with punctuation, apostrophes, hyphens) go through the pattern, in one string."""
    tokens = text.split()
    others = [token for token in tokens if not token.isalnum()]
    return len(tokens) - len(others) + len(_WORD.findall(" ".join(others)))


def count_words(html: str) -> int:
    """Words in the visible text of `html`; a word is a run of letters/digits (inner ' and - allowed)."""
    text = _plain_text(html)
    return _word_count(html_text(html) if text is None else text)


# A start or end tag with well-formed attributes (quoted values may hold `>`), as HTMLParser reads it.
_PLAIN_TAG = re.compile(
    r"""</?([a-zA-Z][a-zA-Z0-9]*)"""
    r"""(?:\s+[^\s"'<>/=]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>`]+))?)*\s*/?>"""
)


def _plain_text(html: str) -> str | None:
    """The visible text of `html` with its words as `html_text` has them (its spacing may differ),
    without HTMLParser's tokenizer in Python (most of counting an article's words); None when the
    HTML holds anything but plain tags and text (comments, declarations, a stray `<`, script,
    style or other hidden elements): `html_text` reads those. What the writer stores (nh3's
    output) is plain. tests/services/test_seo.py compares the two on generated HTML."""
    parts: list[str] = []
    start = 0
    for tag in _PLAIN_TAG.finditer(html):
        data = html[start : tag.start()]
        if "<" in data:
            return None
        # Each run of text is unescaped on its own, as HTMLParser hands it over.
        parts.append(html_entities.unescape(data) if "&" in data else data)
        name = tag[1].lower()
        if name in HIDDEN_TAGS:
            return None
        if name in BLOCK_TAGS:  # a block's text doesn't run into its neighbours'
            parts.append(" ")
        start = tag.end()
    rest = html[start:]
    if "<" in rest:
        return None
    parts.append(html_entities.unescape(rest) if "&" in rest else rest)
    return "".join(parts)


def _phrase(text: str, *, split_hyphens: bool = False) -> tuple[str, ...]:
    if split_hyphens:
        text = _HYPHEN.sub(" ", text)
    return tuple(word.casefold() for word in _words(text))


def _occurrences(words: tuple[str, ...], phrase: tuple[str, ...]) -> int:
    """Non-overlapping whole-word matches of `phrase` in `words` (both already casefolded)."""
    if not phrase:
        return 0
    count, i, n = 0, 0, len(phrase)
    while i <= len(words) - n:
        if words[i : i + n] == phrase:
            count += 1
            i += n
        else:
            i += 1
    return count


def _host(value: str) -> str | None:
    try:
        host = urlsplit(value if "//" in value else "//" + value).hostname
    except ValueError:
        return None
    if not host:
        return None
    # example.com and www.example.com are the same site to a reader and to a search engine.
    return host.removeprefix("www.")


def _is_internal(href: str, site_host: str | None) -> bool:
    # A bare fragment stays on the same page: it links nowhere new.
    if not href or href.startswith("#"):
        return False
    try:
        parts = urlsplit(href)
    except ValueError:
        return False
    if not parts.scheme and not parts.netloc:
        return True
    if parts.scheme not in ("", "http", "https") or site_host is None:
        return False
    host = parts.hostname
    return host is not None and host.removeprefix("www.") == site_host


def _readability_text(page: _Page) -> str:
    # Headings and list items carry no full stop, yet each is a line of its own to a reader;
    # without one they would merge into the next sentence and drag the score down.
    return " ".join(block if block.rstrip(_CLOSERS).endswith(_SENTENCE_END) else block + "." for block in page.blocks)


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun if n == 1 else noun + 's'}"


def _check(check_id: str, passed: bool, detail: str) -> dict[str, Any]:
    return {"id": check_id, "passed": passed, "weight": WEIGHTS[check_id], "detail": detail}


def _keyword_checks(content: ContentInput, page: _Page, words: tuple[str, ...]) -> list[dict[str, Any]]:
    keyword = _collapse(content.primary_keyword)
    phrase = _phrase(keyword)
    if not phrase:
        return [_check(check_id, False, NO_KEYWORD) for check_id, _ in CHECKS if check_id in KEYWORD_CHECKS]
    quoted = f'"{keyword}"'
    checks = []

    in_title = _occurrences(_phrase(content.title), phrase) > 0
    checks.append(
        _check("keyword_in_title", in_title, f"Title {'contains' if in_title else 'does not contain'} {quoted}.")
    )

    in_meta = _occurrences(_phrase(content.meta_title), phrase) > 0
    if not content.meta_title.strip():
        detail = "No meta title set."
    else:
        detail = f"Meta title {'contains' if in_meta else 'does not contain'} {quoted}."
    checks.append(_check("keyword_in_meta_title", in_meta, detail))

    in_first = _occurrences(words[:FIRST_WORDS], phrase) > 0
    detail = f"{quoted} {'appears' if in_first else 'does not appear'} in the first {FIRST_WORDS} words."
    checks.append(_check("keyword_in_first_100_words", in_first, detail))

    h2s = [text for level, text in page.headings if level == 2]
    with_keyword = sum(1 for text in h2s if _occurrences(_phrase(text), phrase))
    if not h2s:
        detail = f"There are no H2 headings to hold {quoted}."
    else:
        detail = f"{quoted} appears in {with_keyword} of {_plural(len(h2s), 'H2 heading')}."
    checks.append(_check("keyword_in_h2", with_keyword > 0, detail))

    slug = content.slug.strip()
    in_slug = _occurrences(_phrase(slug, split_hyphens=True), _phrase(keyword, split_hyphens=True)) > 0
    verb = "contains" if in_slug else "does not contain"
    detail = f'Slug "{slug}" {verb} {quoted}.' if slug else "No slug set."
    checks.append(_check("keyword_in_slug", in_slug, detail))

    uses = _occurrences(words, phrase)
    density = _density(uses, len(phrase), len(words))
    low, high = DENSITY_RANGE
    detail = (
        f"Keyword density is {density:.2f}% ({_plural(uses, 'use')} in {_plural(len(words), 'word')}); "
        f"aim for {low}{_EN_DASH}{high}%."
    )
    checks.append(_check("keyword_density", low <= density <= high, detail))
    return checks


def _density(uses: int, phrase_words: int, total_words: int) -> float:
    return round(uses * phrase_words / total_words * 100, 2) if total_words else 0.0


def _length_check(check_id: str, label: str, value: str, bounds: tuple[int, int]) -> dict[str, Any]:
    length = len(value.strip())
    low, high = bounds
    detail = f"{label} is {_plural(length, 'character')}; aim for {low}{_EN_DASH}{high}."
    return _check(check_id, low <= length <= high, detail)


def _heading_hierarchy(headings: list[tuple[int, str]]) -> dict[str, Any]:
    previous = 1  # so the first heading may be h1 or h2
    for index, (level, text) in enumerate(headings):
        if level > previous + 1:
            if index == 0:
                detail = f"The first heading is h{level}; start with h1 or h2."
            else:
                detail = f'Heading h{level} "{text}" follows an h{previous}; levels should not be skipped.'
            return _check("heading_hierarchy", False, detail)
        previous = level
    if not headings:
        return _check("heading_hierarchy", True, "No headings to check.")
    return _check("heading_hierarchy", True, f"Heading levels are not skipped ({_plural(len(headings), 'heading')}).")


def _image_alt_text(alts: list[str | None]) -> dict[str, Any]:
    missing = sum(1 for alt in alts if not (alt or "").strip())
    if not alts:
        detail = "No images to check."
    elif missing:
        detail = f"{missing} of {_plural(len(alts), 'image')} lack alt text."
    else:
        detail = f"All {_plural(len(alts), 'image')} have alt text." if len(alts) > 1 else "The image has alt text."
    return _check("image_alt_text", missing == 0, detail)


def _internal_links(links: list[_Link], site_domain: str | None) -> dict[str, Any]:
    site_host = _host(site_domain.strip()) if site_domain and site_domain.strip() else None
    # Links inside headings are navigation decoration, not contextual links from the body.
    internal = sum(1 for link in links if not link.in_heading and _is_internal(link.href, site_host))
    detail = f"Content has {_plural(internal, 'internal link')}; aim for at least {MIN_INTERNAL_LINKS}."
    return _check("internal_links", internal >= MIN_INTERNAL_LINKS, detail)


def _readability(page: _Page, word_count: int) -> tuple[float, dict[str, Any]]:
    if not word_count:
        return 0.0, _check("readability", False, "No text to score for readability.")
    score = round(float(_textstat().flesch_reading_ease(_readability_text(page))), 1)
    detail = f"Flesch reading ease is {score:.1f}; aim for {MIN_READING_EASE:.0f} or higher."
    return score, _check("readability", score >= MIN_READING_EASE, detail)


def analyze(content: ContentInput) -> dict[str, Any]:
    """Score `content` 0-100 as the sum of the weights of the checks it passes.

    Returns {"score", "checks": [{id, passed, weight, detail}, ...] in CHECKS order, "word_count",
    "keyword_density" (percent, 2 decimals), "readability" (Flesch reading ease, 1 decimal)}.
    """
    page = _parse(content.html)
    words = tuple(word.casefold() for word in _words(page.text))
    word_count = len(words)

    checks = _keyword_checks(content, page, words)

    checks.append(_length_check("meta_title_length", "Meta title", content.meta_title, META_TITLE_RANGE))
    checks.append(
        _length_check("meta_description_length", "Meta description", content.meta_description, META_DESCRIPTION_RANGE)
    )

    target = DEFAULT_MIN_WORDS if content.target_word_count is None else content.target_word_count
    detail = f"Content has {_plural(word_count, 'word')}; the target is {target}."
    checks.append(_check("word_count", word_count >= target, detail))

    h1s = sum(1 for level, _ in page.headings if level == 1)
    detail = f"Content has {_plural(h1s, 'H1 heading')}" + ("." if h1s <= 1 else "; use one at most.")
    checks.append(_check("single_h1", h1s <= 1, detail))

    checks.append(_heading_hierarchy(page.headings))
    checks.append(_image_alt_text(page.image_alts))
    checks.append(_internal_links(page.links, content.site_domain))

    readability, readability_check = _readability(page, word_count)
    checks.append(readability_check)

    phrase = _phrase(content.primary_keyword)
    return {
        "score": sum(check["weight"] for check in checks if check["passed"]),
        "checks": checks,
        "word_count": word_count,
        "keyword_density": _density(_occurrences(words, phrase), len(phrase), word_count),
        "readability": readability,
    }


async def content_analysis(content: Content) -> dict[str, Any]:
    task_id = content.task_id
    target = cast("list[int]", await Task.filter(id=task_id).values_list("word_count", flat=True) if task_id else [])
    domain = cast("list[str]", await Site.filter(id=content.site_id).values_list("domain", flat=True))
    return analyze(
        ContentInput(
            title=content.title,
            html=content.html,
            meta_title=content.meta_title,
            meta_description=content.meta_description,
            primary_keyword=content.primary_keyword,
            slug=content.slug,
            target_word_count=target[0] if target else None,
            site_domain=domain[0] if domain else None,
        )
    )
