"""The deterministic internal linker: budget, eligibility of occurrences, byte-for-byte edits, idempotency."""

from __future__ import annotations

import random
from html import escape
from typing import Any

import pytest

from services import linker
from services.linker import AddedLink, LinkTarget, add_internal_links, link_budget
from services.seo import count_words


def _pad(html: str, words: int) -> str:
    """`html` plus a filler paragraph, so the whole article has exactly `words` words."""
    missing = words - count_words(html)
    assert missing >= 0
    if missing:
        html += "<p>" + " ".join(["filler"] * missing) + "</p>"
    assert count_words(html) == words
    return html


def _target(target_id: int, *phrases: str, href: str | None = None) -> LinkTarget:
    return LinkTarget(target_id, phrases, f"/page-{target_id}/" if href is None else href)


def _unlink(html: str, added: list[AddedLink]) -> str:
    """`html` with the tags the linker inserted removed again (their anchor text kept)."""
    for link in added:
        inserted = f'<a href="{escape(link.href, quote=True)}">{link.anchor}</a>'
        assert inserted in html
        html = html.replace(inserted, link.anchor, 1)
    return html


BODY = "<p>Start a compost heap, then plant tomato seedlings and mulch the beds with straw.</p>"
THREE = [_target(2, "compost"), _target(3, "tomato seedlings"), _target(4, "mulch")]


def test_budget_is_one_link_per_150_words() -> None:
    html = _pad(BODY, 300)
    out, added = add_internal_links(html, 1, THREE)
    assert [link.target_id for link in added] == [2, 3]  # the given order decides who gets the budget
    assert out.count("<a ") == 2
    assert _unlink(out, added) == html


def test_budget_boundaries() -> None:
    assert add_internal_links(_pad(BODY, 149), 1, THREE) == (_pad(BODY, 149), [])
    assert [link.target_id for link in add_internal_links(_pad(BODY, 150), 1, THREE)[1]] == [2]
    assert [link.target_id for link in add_internal_links(_pad(BODY, 299), 1, THREE)[1]] == [2]
    assert link_budget(_pad(BODY, 450)) == 3
    assert link_budget(_pad(BODY, 450), existing_links=5) == 0


def test_already_linked_targets_are_skipped_and_use_budget() -> None:
    html = _pad(BODY, 300)
    _, added = add_internal_links(html, 1, THREE, already_linked={2})
    assert [link.target_id for link in added] == [3]
    assert add_internal_links(html, 1, THREE, already_linked=[2, 9]) == (html, [])


def test_never_links_to_itself() -> None:
    html = _pad(BODY, 300)
    _, added = add_internal_links(html, 2, THREE)
    assert [link.target_id for link in added] == [3, 4]
    # Listing yourself as already linked doesn't eat budget either.
    _, added = add_internal_links(html, 2, THREE, already_linked={2})
    assert [link.target_id for link in added] == [3, 4]


def test_only_the_first_occurrence_is_linked() -> None:
    html = _pad("<p>Compost is cheap.</p><p>More compost is better compost.</p>", 300)
    out, added = add_internal_links(html, 1, [_target(2, "compost")])
    assert added == [AddedLink(2, "Compost", "/page-2/")]
    assert out.startswith('<p><a href="/page-2/">Compost</a> is cheap.</p><p>More compost is better compost.</p>')


def test_skips_links_headings_and_code() -> None:
    html = _pad(
        "<h1>Compost</h1><h3>Why <em>compost</em>?</h3>"
        '<p>See <a href="/elsewhere/">the compost guide</a>.</p>'
        "<p><code>compost()</code></p><pre>compost</pre><script>var compost = 1;</script>"
        "<style>.compost { color: red }</style>"
        "<p>Finally some compost here.</p>",
        300,
    )
    out, added = add_internal_links(html, 1, [_target(2, "compost")])
    assert added == [AddedLink(2, "compost", "/page-2/")]
    assert '<p>Finally some <a href="/page-2/">compost</a> here.</p>' in out
    assert _unlink(out, added) == html


def test_no_link_when_every_occurrence_is_ineligible() -> None:
    html = _pad('<h2>Compost</h2><p><a href="/x/">compost</a> and <code>compost</code></p>', 300)
    assert add_internal_links(html, 1, [_target(2, "compost")]) == (html, [])


def test_anchor_keeps_the_original_case() -> None:
    html = _pad("<p>Our COMPOST Bins are great.</p>", 300)
    out, added = add_internal_links(html, 1, [_target(2, "compost bins")])
    assert added == [AddedLink(2, "COMPOST Bins", "/page-2/")]
    assert '<a href="/page-2/">COMPOST Bins</a>' in out


def test_whole_words_only() -> None:
    html = _pad("<p>Running, a rerun, a run-up and the run's end; then a run.</p>", 300)
    out, added = add_internal_links(html, 1, [_target(2, "run")])
    assert added == [AddedLink(2, "run", "/page-2/")]
    assert 'then a <a href="/page-2/">run</a>.</p>' in out


def test_phrase_matches_across_any_whitespace_but_not_across_tags_or_blocks() -> None:
    html = _pad("<p>Garden</p><p>compost here, <b>garden</b> compost there, garden\n  compost last.</p>", 300)
    out, added = add_internal_links(html, 1, [_target(2, "garden compost")])
    assert added == [AddedLink(2, "garden\n  compost", "/page-2/")]
    assert _unlink(out, added) == html


def test_cluster_keyword_used_when_primary_is_absent() -> None:
    html = _pad("<p>A worm bin turns scraps into soil.</p>", 300)
    _, added = add_internal_links(html, 1, [_target(2, "vermicompost", "worm bin", "soil")])
    assert added == [AddedLink(2, "worm bin", "/page-2/")]


def test_primary_keyword_preferred_over_an_earlier_cluster_keyword() -> None:
    html = _pad("<p>A worm bin makes vermicompost.</p>", 300)
    _, added = add_internal_links(html, 1, [_target(2, "vermicompost", "worm bin")])
    assert added == [AddedLink(2, "vermicompost", "/page-2/")]


def test_one_link_per_target_and_no_overlapping_anchors() -> None:
    html = _pad("<p>Compost bins hold compost.</p>", 450)
    targets = [_target(2, "compost bins", "compost"), _target(3, "bins"), _target(4, "compost")]
    out, added = add_internal_links(html, 1, targets)
    # Target 2 takes the first phrase only; "bins" is now inside its anchor; 4 gets the next free "compost".
    assert added == [AddedLink(2, "Compost bins", "/page-2/"), AddedLink(4, "compost", "/page-4/")]
    assert out.startswith('<p><a href="/page-2/">Compost bins</a> hold <a href="/page-4/">compost</a>.</p>')


def test_rerun_adds_nothing() -> None:
    html = _pad(BODY, 450)
    out, added = add_internal_links(html, 1, THREE)
    assert len(added) == 3
    ids = [link.target_id for link in added]
    assert add_internal_links(out, 1, THREE, already_linked=ids) == (out, [])
    # Even without the records: the phrases now sit inside anchors and the hrefs are already present.
    assert add_internal_links(out, 1, THREE) == (out, [])


def test_rerun_without_records_does_not_link_a_second_occurrence_or_spend_freed_budget() -> None:
    html = _pad("<p>Compost first.</p><p>Compost again, then mulch.</p>", 150)
    out, added = add_internal_links(html, 1, [_target(2, "compost"), _target(3, "mulch")])
    assert [link.target_id for link in added] == [2]
    assert add_internal_links(out, 1, [_target(2, "compost"), _target(3, "mulch")]) == (out, [])


def test_existing_link_to_a_target_counts_as_linked() -> None:
    html = _pad('<p>Read <a href="/page-2/">our guide</a> on compost and mulch.</p>', 150)
    assert add_internal_links(html, 1, [_target(2, "compost"), _target(3, "mulch")]) == (html, [])


def test_href_is_escaped() -> None:
    html = _pad("<p>Compost now.</p>", 150)
    out, added = add_internal_links(html, 1, [_target(2, "compost", href='/a"b/?x=1&y=<2>')])
    assert added == [AddedLink(2, "Compost", '/a"b/?x=1&y=<2>')]
    assert out.startswith('<p><a href="/a&quot;b/?x=1&amp;y=&lt;2&gt;">Compost</a> now.</p>')


def test_blank_href_is_never_linked() -> None:
    html = _pad("<p>Compost now.</p>", 150)
    assert add_internal_links(html, 1, [_target(2, "compost", href="  ")]) == (html, [])


def test_empty_input_and_blank_phrases() -> None:
    assert add_internal_links("", 1, THREE) == ("", [])
    html = _pad("<p>Compost now.</p>", 150)
    assert add_internal_links(html, 1, [_target(2, "", "   ")]) == (html, [])


def test_deterministic() -> None:
    html = _pad(BODY + "<p>More compost, tomato seedlings and mulch.</p>", 450)
    targets = [*THREE, _target(5, "straw")]
    assert add_internal_links(html, 1, targets) == add_internal_links(html, 1, targets)


def test_surrounding_html_preserved_byte_for_byte() -> None:
    html = _pad(
        "<!DOCTYPE html>\r\n<!-- compost comment -->\r\n"
        "<div class='x'  data-a=\"1 &amp; 2\">\r\n"
        "  <P>Caf&eacute; owners &amp; gardeners love <EM>fresh</EM> Compost&nbsp;tea &#8212; and mulch!</P>\r\n"
        "  <p>Über-gardeners use straw, a &lt;b&gt; tag and 5 < 6.<br/>Tomato seedlings too…</p>\r\n"
        "</div>",
        450,
    )
    targets = [_target(2, "compost tea", "compost"), _target(3, "mulch"), _target(4, "tomato seedlings")]
    out, added = add_internal_links(html, 1, targets)
    assert added == [
        AddedLink(2, "Compost", "/page-2/"),  # "Compost&nbsp;tea" contains an entity, so the cluster keyword
        AddedLink(3, "mulch", "/page-3/"),
        AddedLink(4, "Tomato seedlings", "/page-4/"),
    ]
    assert _unlink(out, added) == html
    assert "<!-- compost comment -->" in out


def test_entities_are_never_inside_an_anchor_and_count_for_word_boundaries() -> None:
    html = _pad("<p>Fish &amp; chips at the caf&eacute;; fish and chips at the inn.</p>", 300)
    # "caf" is not a whole word of "café"; "fish & chips" can't match across the entity.
    out, added = add_internal_links(html, 1, [_target(2, "caf"), _target(3, "fish & chips", "chips")])
    assert added == [AddedLink(3, "chips", "/page-3/")]
    assert '<p>Fish &amp; <a href="/page-3/">chips</a> at' in out


def test_nothing_linked_after_unterminated_markup() -> None:
    # A browser swallows the rest of the document into an unterminated tag or comment; an <a> there would
    # end up inside it.
    for tail in ("<p class='x>compost", "<p compost", "<!-- compost"):
        html = _pad("<p>Mulch.</p>", 150) + tail
        out, added = add_internal_links(html, 1, [_target(2, "compost"), _target(3, "mulch")])
        assert added == [AddedLink(3, "Mulch", "/page-3/")], tail
        assert _unlink(out, added) == html


# Letters that `re.IGNORECASE` matches to an ASCII letter of another case (İ ı ſ K), others with
# no ASCII match (é ß), both cases, joiners, spaces and tags: what the pre-check must not misjudge.
_LETTERS = ["sun", "SUN", "ſun", "kiwi", "Kiwi", "kıwı", "KİWİ", "café", "straße", "e-bike", "x1"]


def _random_article(rng: random.Random) -> str:
    """Words of a few of `_LETTERS` only: a word may be there in one spelling and in no other."""
    letters = rng.sample(_LETTERS, 3)
    words = [rng.choice(letters) for _ in range(rng.randint(150, 400))]
    paragraphs = [" ".join(words[i : i + 20]) for i in range(0, len(words), 20)]
    return "".join(f"<p>{paragraph}</p>" for paragraph in paragraphs)


def test_phrases_the_text_cannot_hold_are_skipped_with_the_same_links_as_trying_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every target's phrases were compiled and searched: with a site's every other content a
    target, linking one article of a 2,000-content site took ~1 s. A phrase one of whose ASCII
    words isn't in the text (folded as `re.IGNORECASE` matches) is now skipped unsearched; the
    links are those the full search makes, on 300 random articles."""
    rng = random.Random(12)
    phrases = [" ".join(rng.sample(_LETTERS, rng.randint(1, 2))).lower() for _ in range(60)]
    cases = []
    for _ in range(300):
        targets = [_target(i, *rng.sample(phrases, 2)) for i in range(2, 14)]
        cases.append((_random_article(rng), targets))
    found = [add_internal_links(html, 1, targets) for html, targets in cases]
    assert sum(len(added) for _, added in found) > 300  # the cases do link

    monkeypatch.setattr(linker, "_may_occur", lambda folded, phrase: True)
    assert [add_internal_links(html, 1, targets) for html, targets in cases] == found


def test_a_phrase_absent_from_the_article_is_never_compiled(monkeypatch: pytest.MonkeyPatch) -> None:
    compiled: list[str] = []
    real = linker._phrase_pattern

    def counting(phrase: str) -> Any:
        compiled.append(phrase)
        return real(phrase)

    monkeypatch.setattr(linker, "_phrase_pattern", counting)
    targets = [_target(2, "compost")] + [_target(i, f"keyword {i}") for i in range(3, 2003)]
    _, added = add_internal_links(_pad(BODY, 300), 1, targets)
    assert [link.target_id for link in added] == [2]
    assert compiled == ["compost"]
