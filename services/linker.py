"""Deterministic internal linking: wrap the first eligible mention of another page's keyword in a link to it.

Pure functions only (no I/O, no database, no model): the caller loads the site's other content, turns each
item into a `LinkTarget` (sorted deterministically, e.g. by id), calls `add_internal_links`, saves the HTML
and records one `{source_id, target_id, anchor}` row per returned `AddedLink`.

How the HTML is edited: the document is tokenised once with `html.parser.HTMLParser` (charrefs *not*
converted, so every text event is a raw slice of the input at a known offset) into a stream of visible
characters, each mapped back to its offset in the input. Phrases are matched against that stream and a link
is inserted by slicing the original string at those offsets, so every byte outside the inserted
`<a href="...">` / `</a>` is kept as it was; the document is never re-serialised.

Entities: a match may not contain a character reference (`&amp;`, `&nbsp;`, `&#8217;`, ...). Their decoded
text is in the stream, so whole-word boundaries next to them are judged on what the reader sees
("caf&eacute;" does not contain the word "caf"), but the anchor text is always a plain run of the source,
which is then exactly the text the reader sees. The cost: a keyword like "fish & chips" only matches where
the source spells the ampersand without an entity.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from functools import lru_cache
from html import escape, unescape
from html.parser import HTMLParser

from services.seo import BLOCK_TAGS, HEADING_LEVELS, HIDDEN_TAGS, count_words

WORDS_PER_LINK = 150  # the budget is floor(words / WORDS_PER_LINK) internal links per article

_NOT_LINKABLE = -1  # stream offset for text that must never become (part of) an anchor
# Text inside these is never linked: code must stay verbatim, script/style/template/title/noscript are not
# body text, and interactive elements may not contain an <a> in valid HTML.
_SKIP_TAGS = frozenset(
    {"button", "code", "kbd", "noscript", "pre", "samp", "script", "select", "style", "template", "textarea", "title"}
)
# Tags that start a new line on the page (and hidden ones, whose text is not on the page): "<p>run</p><p>fast</p>"
# is two separate words, so a phrase may not match across them, and "<p>run</p>ning" does not make "run" part of
# a longer word.
_BLOCK_TAGS = BLOCK_TAGS | HIDDEN_TAGS
# A word is a run of letters/digits with ' ’ ‐ - allowed only *inside* it, as in services.seo's word count:
# "run" is not a whole word in "running", "rerun", "run-up" or "run's".
_WORD_CHAR = "[^\\W_]"
_JOINER = "['\u2019\u2010-]"
_WORD_START = f"(?<!{_WORD_CHAR})(?<!{_WORD_CHAR}{_JOINER})"
_WORD_END = f"(?!{_WORD_CHAR})(?!{_JOINER}{_WORD_CHAR})"
# "<" followed by what starts a tag, end tag, comment, declaration or processing instruction.
_MARKUP_START = re.compile("<[a-zA-Z/!?]")


@dataclass(frozen=True)
class LinkTarget:
    id: int
    phrases: tuple[str, ...]  # primary keyword first, then cluster keywords; matched case-insensitively on whole words
    href: str


@dataclass(frozen=True)
class AddedLink:
    target_id: int
    anchor: str  # the exact text as it appears in the source (original case)
    href: str


class _TextStream(HTMLParser):
    """The document's text as one string, each character mapped to its offset in the source.

    Characters that may not be linked (inside <a>, headings or `_SKIP_TAGS`, decoded entities, and the
    separators standing in for block tags) map to `_NOT_LINKABLE`; they stay in the stream only so that
    whole-word checks see the real neighbours of a match.
    """

    def __init__(self, source: str) -> None:
        # convert_charrefs=False: handle_data then receives raw slices, so offsets stay exact.
        super().__init__(convert_charrefs=False)
        self._source = source
        self._line_starts = [0, *(match.end() for match in re.finditer("\n", source))]
        self._chars: list[str] = []
        self.offsets: list[int] = []
        self.hrefs: set[str] = set()  # every href of an existing <a>, stripped
        # <a> and headings don't nest in parsed HTML (a new one closes the open one), so a flag suffices
        # and a stray extra start tag can't leave the rest of the document unlinkable.
        self._in_anchor = False
        self._in_heading = False
        self._skip_depth = 0
        # Set once markup the parser could not parse turns up (see handle_data): nothing after it is linked.
        self._broken = False

    @property
    def text(self) -> str:
        return "".join(self._chars)

    def _position(self) -> int:
        # getpos() is (line, column) of the construct being handled; HTMLParser counts lines by "\n" only.
        line, column = self.getpos()
        return self._line_starts[line - 1] + column

    def _append(self, text: str, start: int | None) -> None:
        self._chars.append(text)
        if start is None:
            self.offsets.extend([_NOT_LINKABLE] * len(text))
        else:
            self.offsets.extend(range(start, start + len(text)))

    def _linkable_here(self) -> bool:
        return not (self._in_anchor or self._in_heading or self._skip_depth or self._broken)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK_TAGS:
            self._append(" ", None)
        if tag == "a":
            self._in_anchor = True
            href = dict(attrs).get("href")
            if href:
                self.hrefs.add(href.strip())
        elif tag in HEADING_LEVELS:
            self._in_heading = True
        elif tag in _SKIP_TAGS:
            self._skip_depth += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self._in_anchor = False
        elif tag in HEADING_LEVELS:
            self._in_heading = False
        elif tag in _SKIP_TAGS:
            self._skip_depth = max(0, self._skip_depth - 1)
        if tag in _BLOCK_TAGS:
            self._append(" ", None)

    def handle_data(self, data: str) -> None:
        start = self._position()
        if not self.cdata_elem and _MARKUP_START.match(self._source, start):
            # An unterminated tag or comment ("<p class='x>...", "<!-- ..." at the end of the document) that
            # the parser hands over as text. A browser swallows what follows into that tag or comment, and an
            # <a> inserted there would become part of it, so this text and everything after stays unlinked.
            self._broken = True
        # The startswith check is a guard: if the parser ever reported text that is not a raw slice at
        # that offset, linking it would corrupt the document, so it only serves as context.
        linkable = self._linkable_here() and self._source.startswith(data, start)
        self._append(data, start if linkable else None)

    def handle_entityref(self, name: str) -> None:
        self._append_reference("&" + name)

    def handle_charref(self, name: str) -> None:
        self._append_reference("&#" + name)

    def _append_reference(self, raw: str) -> None:
        # The parser hands over the name without the optional ";" (it consumes it when present).
        if self._source.startswith(";", self._position() + len(raw)):
            raw += ";"
        self._append(unescape(raw), None)


@lru_cache(maxsize=1024)
def _phrase_pattern(phrase: str) -> re.Pattern[str] | None:
    words = phrase.split()
    if not words:
        return None
    # Any whitespace between the words ("content\n  marketing" matches "content marketing").
    body = r"\s+".join(re.escape(word) for word in words)
    return re.compile(_WORD_START + body + _WORD_END, re.IGNORECASE)


# Which characters of a text can match an ASCII letter of a pattern under `re.IGNORECASE`: its two
# cases, and these four (Python's documented exceptions), mapped here to the letter they match.
_ASCII_FOLD = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s", "\u212a": "k"})


def _folded(text: str) -> str:
    """`text` in which every ASCII word a pattern of `_phrase_pattern` matches appears lowercased."""
    return text.translate(_ASCII_FOLD).lower()


def _may_occur(folded: str, phrase: str) -> bool:
    """False only when `phrase` can't match the text `folded` was made from: one of its ASCII words
    isn't in it. Checked before a phrase's pattern is compiled and searched: a site's every other
    content is a target, most of whose keywords a given article never mentions."""
    return all(not word.isascii() or word.lower() in folded for word in phrase.split())


def _is_plain_run(offsets: list[int], start: int, end: int) -> bool:
    """True when stream[start:end] is linkable and one contiguous slice of the source (no tag or entity inside)."""
    first = offsets[start]
    if first == _NOT_LINKABLE:
        return False
    return all(offsets[start + k] == first + k for k in range(1, end - start))


def _find(text: str, folded: str, offsets: list[int], phrases: Sequence[str]) -> tuple[int, int] | None:
    """Stream span of the first eligible occurrence of the first phrase that has one."""
    for phrase in phrases:
        if not _may_occur(folded, phrase):
            continue
        pattern = _phrase_pattern(phrase)
        if pattern is None:
            continue
        position = 0
        while (match := pattern.search(text, position)) is not None:
            if _is_plain_run(offsets, match.start(), match.end()):
                return match.span()
            # Step one character, not past the match: a later, overlapping occurrence may be eligible.
            position = match.start() + 1
    return None


def link_budget(html: str, existing_links: int = 0) -> int:
    """Links that may still be added: floor(words / WORDS_PER_LINK) minus those the article already has."""
    return max(0, count_words(html) // WORDS_PER_LINK - existing_links)


def add_internal_links(
    html: str,
    source_id: int,
    targets: Sequence[LinkTarget],
    already_linked: Collection[int] = (),
) -> tuple[str, list[AddedLink]]:
    """Link the first eligible mention of each target's keywords in `html`; returns (new html, links added).

    Targets are tried in the given order (the caller sorts them deterministically); for each, its phrases
    are tried in order and the first whole-word, case-insensitive occurrence outside <a>, headings and
    code/pre/script/style (see `_SKIP_TAGS`) is wrapped in `<a href="...">`. One link per target, never to
    `source_id`, and at most floor(words / 150) links in the article.

    A target counts as already linked, so it is skipped *and* uses up budget, when its id is in
    `already_linked` (the caller's records; ids of targets no longer offered still count, since their links
    are still in the text) or when an existing <a> in `html` already has its href. The latter makes a re-run
    on the output a no-op even without the records.
    """
    stream = _TextStream(html)
    stream.feed(html)
    stream.close()
    text, offsets = stream.text, stream.offsets
    folded = _folded(text)

    linked = {target_id for target_id in already_linked if target_id != source_id}
    linked.update(target.id for target in targets if target.id != source_id and target.href.strip() in stream.hrefs)
    budget = link_budget(html, len(linked))

    insertions: list[tuple[int, int, LinkTarget]] = []  # (source start, source end, target)
    for target in targets:
        if len(insertions) >= budget:
            break
        # A blank href would be a link to nowhere (or to the page itself).
        if target.id == source_id or target.id in linked or not target.href.strip():
            continue
        span = _find(text, folded, offsets, target.phrases)
        if span is None:
            continue
        start, end = span
        insertions.append((offsets[start], offsets[end - 1] + 1, target))
        # The text is now inside an <a>: no later target may link it, or anything overlapping it.
        offsets[start:end] = [_NOT_LINKABLE] * (end - start)
        linked.add(target.id)

    if not insertions:
        return html, []

    pieces: list[str] = []
    cursor = 0
    for start, end, target in sorted(insertions, key=lambda insertion: insertion[0]):
        pieces += [html[cursor:start], f'<a href="{escape(target.href, quote=True)}">', html[start:end], "</a>"]
        cursor = end
    pieces.append(html[cursor:])
    # Report in processing (target) order, which is what the caller sorted.
    added = [AddedLink(target.id, html[start:end], target.href) for start, end, target in insertions]
    return "".join(pieces), added
