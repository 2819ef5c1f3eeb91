"""The deterministic SEO analysis: a well-optimised article scores 100, and each check breaks alone."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import replace

import nh3
import nltk
import pytest

from services import seo
from services.seo import CHECKS, NO_KEYWORD, ContentInput, analyze, count_words, html_text

INTRO = (
    "Garden compost turns old food and leaves into rich soil. It is cheap and easy to make. "
    "You need a bin, some greens, and some browns. Greens are wet things like fruit peels and grass. "
    "Browns are dry things like paper and dead leaves. Mix them well and keep the pile damp. "
    "Turn it once a week so air can get in. In a few months the pile will smell like a forest floor. "
    "Then you can feed it to your beds and pots. Your plants will thank you for it. "
    "A small bin fits in most yards. Even a flat with a balcony has room for one."
)
LAYERS = (
    "Start with a layer of sticks at the base. This lets air flow up from the ground. "
    "Add a thick layer of browns on top. Then add a thin layer of greens. Keep going in turns. "
    "Water the pile when it feels dry. It should be as damp as a wrung out sponge."
)
HEAT = (
    "A good pile gets warm in the middle. That heat comes from tiny life at work. "
    "If the pile stays cold, add more greens. If it smells sour, add more browns and turn it. "
    "Most piles are done in two to four months. You can sift out big bits and toss them back in."
)
GOOD_HTML = f"""
<h1>Make Rich Soil at Home</h1>
<p>{INTRO}</p>
<img src="/img/bin.jpg" alt="A wooden compost bin">
<h2>Build your garden compost pile</h2>
<p>{LAYERS}</p>
<p>Read our <a href="/guides/soil/">soil guide</a> to learn more. It is short and clear.</p>
<h3>What to leave out</h3>
<p>Do not add meat, fish, or oil. They smell bad and draw pests. Keep pet waste out too. Skip weeds with seeds.</p>
<h3>Keep it warm</h3>
<p>{HEAT}</p>
<h2>Use the finished soil</h2>
<p>Good garden compost is dark and crumbly. Spread it on your beds in spring. Mix it into pots for new plants.
See our <a href="https://example.com/plants/">plant list</a> for ideas. You can also give some to a friend.</p>
<img src="/img/soil.jpg" alt="Dark finished soil">
<p>Your own rich soil saves money. It cuts waste too. Start small and learn as you go.</p>
<script>var tracking = "garden compost garden compost garden compost";</script>
<style>.hero::after {{ content: "garden compost" }}</style>
"""
GOOD = ContentInput(
    title="How to Make Garden Compost at Home",
    html=GOOD_HTML,
    meta_title="Garden Compost: A Simple Guide for Beginners",
    meta_description="Learn how to make garden compost at home with a bin, greens and browns. Simple steps, rich soil.",
    primary_keyword="garden compost",
    slug="how-to-make-garden-compost",
    target_word_count=300,
    site_domain="example.com",
)
JARGON = "Institutional decomposition methodologies necessitate comprehensive organizational evaluation. " * 30


def _html(old: str, new: str) -> Callable[[ContentInput], ContentInput]:
    def mutate(content: ContentInput) -> ContentInput:
        # A mutation that silently matched nothing would make its case pass for the wrong reason.
        assert content.html.count(old) == 1, old
        return replace(content, html=content.html.replace(old, new))

    return mutate


def _field(**changes: object) -> Callable[[ContentInput], ContentInput]:
    return lambda content: replace(content, **changes)


# For each check: a change to the good article that breaks that check's property and nothing else.
BREAKS: dict[str, Callable[[ContentInput], ContentInput]] = {
    "keyword_in_title": _field(title="How to Make Rich Soil at Home"),
    "keyword_in_meta_title": _field(meta_title="Home Composting: A Simple Guide for Beginners"),
    "keyword_in_first_100_words": _html("Garden compost turns old food", "Kitchen scraps turn old food"),
    "keyword_in_h2": _html("<h2>Build your garden compost pile</h2>", "<h2>Build your first pile</h2>"),
    "keyword_in_slug": _field(slug="how-to-make-rich-soil"),
    "keyword_density": _html("</style>", "</style><p>" + "Garden compost works. " * 12 + "</p>"),
    "meta_title_length": _field(meta_title="Garden Compost: A Simple, Friendly, Step by Step Guide for Beginners"),
    "meta_description_length": _field(meta_description="Make garden compost at home."),
    "word_count": _field(target_word_count=1000),
    "single_h1": _html("</style>", "</style><h1>More soil tips</h1>"),
    "heading_hierarchy": _html("<h3>What to leave out</h3>", "<h4>What to leave out</h4>"),
    "image_alt_text": _html('alt="Dark finished soil"', 'alt=" "'),
    "internal_links": _html('href="/guides/soil/"', 'href="https://soil.example.org/guides/soil/"'),
    "readability": _html("</style>", f"</style><p>{JARGON}</p>"),
}


def _by_id(result: dict) -> dict[str, dict]:
    return {check["id"]: check for check in result["checks"]}


def test_check_ids_order_and_weights() -> None:
    assert [check_id for check_id, _ in CHECKS] == list(BREAKS)
    assert sum(weight for _, weight in CHECKS) == 100
    result = analyze(GOOD)
    assert [(check["id"], check["weight"]) for check in result["checks"]] == list(CHECKS)
    assert all(set(check) == {"id", "passed", "weight", "detail"} for check in result["checks"])


def test_well_optimised_article_scores_100() -> None:
    result = analyze(GOOD)
    failed = [check for check in result["checks"] if not check["passed"]]
    assert failed == []
    assert result["score"] == 100
    assert result["word_count"] >= 300
    assert 0.5 <= result["keyword_density"] <= 2.5
    assert result["readability"] >= 50
    assert isinstance(result["score"], int)


@pytest.mark.parametrize("check_id", list(BREAKS))
def test_each_check_fails_on_its_own(check_id: str) -> None:
    result = analyze(BREAKS[check_id](GOOD))
    failed = [check["id"] for check in result["checks"] if not check["passed"]]
    assert failed == [check_id]
    assert result["score"] == 100 - dict(CHECKS)[check_id]
    assert _by_id(result)[check_id]["detail"]


def test_details_carry_the_measured_value() -> None:
    checks = _by_id(analyze(BREAKS["meta_title_length"](GOOD)))
    assert checks["meta_title_length"]["detail"] == "Meta title is 68 characters; aim for 30\u201360."
    checks = _by_id(analyze(BREAKS["word_count"](GOOD)))
    assert checks["word_count"]["detail"].endswith("the target is 1000.")
    checks = _by_id(analyze(GOOD))
    assert checks["keyword_density"]["detail"].startswith("Keyword density is ")
    assert checks["readability"]["detail"].startswith("Flesch reading ease is ")


def test_same_input_same_output() -> None:
    assert analyze(GOOD) == analyze(GOOD)
    assert analyze(replace(GOOD)) == analyze(GOOD)


def test_script_and_style_text_is_not_counted() -> None:
    html = "<p>One two</p><script>var three = 'four five';</script><style>p { color: red }</style><p>six</p>"
    assert html_text(html) == "One two six"
    assert count_words(html) == 3
    # The good article hides four more "garden compost" uses in script/style; they don't inflate density.
    result = analyze(GOOD)
    assert result["keyword_density"] == round(3 * 2 / result["word_count"] * 100, 2)


def test_html_text_separates_blocks_and_joins_inline() -> None:
    html = "<h2>Title</h2><p>First&nbsp;para</p><p>un<b>believ</b>able\n\n  text<br>next</p><!-- hidden -->"
    assert html_text(html) == "Title First para unbelievable text next"


# Pieces of HTML the fast word count must read exactly as HTMLParser does, or hand over to it.
_PIECES = (
    "<p>", "</p>", "<P>", "<div class=\"x\">", "</div>", "<br>", "<br/>", "<br />", "<li>", "<h2 id='a'>", "</h2>",
    "<b>", "</b>", "<em>", "<a href=\"/x?a=1&amp;b=2\">", "</a>", "<img alt=\"a > b\" src=x.png>",
    "<span title='it\"s'>", "<a title=\"x<y\">", "<p data-x='a>b<c'>", "</span>", "<td>", "<title>", "</title>",
    "<noscript>", "</noscript>",
    "<script>", "</script>", "<style>", "<!-- note -->", "<!DOCTYPE html>", "<?php ?>", "< p>", "a < b",
    "<a b='c'd>", "<my-tag>", "</p >", "&amp;", "&nbsp;", "&#39;", "&am", "p;", "&#x2019;", "&bogus;",
    "word", "Don't", "state-of-the-art", "42", "caf\u00e9", "\u00fcber", " ", "\n", "  ", "--", "x_y", "rock\u2019n",
)  # fmt: skip


def test_the_fast_word_count_agrees_with_the_parser() -> None:
    """`count_words` reads plain HTML without HTMLParser; on random mixes of tags, entities and
    text it gives the parser's count, and it takes the fast road often enough for that to mean
    something (the writer's nh3 output always)."""
    rng = random.Random(20261206)
    plain = [piece for piece in _PIECES if seo._plain_text(piece) is not None]
    fast = 0
    for n in range(3000):
        html = "".join(rng.choice(plain if n % 2 else _PIECES) for _ in range(rng.randint(0, 40)))
        assert count_words(html) == len(seo._words(html_text(html))), html
        fast += seo._plain_text(html) is not None
    assert fast > 1500
    article = GOOD.html + "<p>Caf&eacute; &amp; <a href='/x'>links</a><br/>next&nbsp;line</p>"
    assert seo._plain_text(nh3.clean(article)) is not None
    assert count_words(nh3.clean(article)) == len(seo._words(html_text(nh3.clean(article))))


def test_word_definition() -> None:
    assert count_words("<p>Don't stop: state-of-the-art -- 42 items, 'quoted' rock\u2019n\u2019roll.</p>") == 7


def test_links_in_headings_and_external_links_are_not_internal() -> None:
    html = (
        '<h2><a href="/in-heading/">Heading link</a></h2>'
        '<p><a href="https://elsewhere.org/page">external</a> <a href="mailto:a@example.com">mail</a> '
        '<a href="#top">anchor</a> <a>no href</a> <a href="https://example.com.evil.org/">lookalike</a></p>'
    )
    check = _by_id(analyze(replace(GOOD, html=html)))["internal_links"]
    assert not check["passed"]
    assert check["detail"] == "Content has 0 internal links; aim for at least 2."


def test_relative_links_and_site_domain_links_are_internal() -> None:
    html = (
        '<p><a href="/foo/">relative</a> <a href="bar.html">relative too</a> '
        '<a href="https://www.Example.com/baz">own site</a> <a href="//example.com/qux">own site</a></p>'
    )
    check = _by_id(analyze(replace(GOOD, html=html)))["internal_links"]
    assert check["passed"]
    assert check["detail"].startswith("Content has 4 internal links")
    # Without a site domain only the relative links are known to be internal.
    check = _by_id(analyze(replace(GOOD, html=html, site_domain=None)))["internal_links"]
    assert check["detail"].startswith("Content has 2 internal links")


def test_empty_html() -> None:
    result = analyze(ContentInput(title="Anything", html=""))
    assert result["word_count"] == 0
    assert result["keyword_density"] == 0.0
    assert result["readability"] == 0.0
    checks = _by_id(result)
    assert not checks["readability"]["passed"]
    assert not checks["word_count"]["passed"]
    assert checks["word_count"]["detail"] == "Content has 0 words; the target is 300."
    assert 0 <= result["score"] <= 100
    # Vacuous structure checks pass on their own terms.
    assert result["score"] == sum(checks[c]["weight"] for c in ("single_h1", "heading_hierarchy", "image_alt_text"))


def test_no_primary_keyword_fails_keyword_checks() -> None:
    checks = _by_id(analyze(replace(GOOD, primary_keyword="  ")))
    keyword_checks = [
        "keyword_in_title",
        "keyword_in_meta_title",
        "keyword_in_first_100_words",
        "keyword_in_h2",
        "keyword_in_slug",
        "keyword_density",
    ]
    for check_id in keyword_checks:
        assert checks[check_id] == {
            "id": check_id,
            "passed": False,
            "weight": dict(CHECKS)[check_id],
            "detail": NO_KEYWORD,
        }
    assert all(checks[check_id]["passed"] for check_id in checks if check_id not in keyword_checks)


def test_keyword_matches_whole_words_case_insensitively() -> None:
    base = replace(GOOD, primary_keyword="compost")
    assert _by_id(analyze(replace(base, title="COMPOST made simple")))["keyword_in_title"]["passed"]
    assert not _by_id(analyze(replace(base, title="Composting made simple")))["keyword_in_title"]["passed"]
    assert not _by_id(analyze(replace(base, title="Garden compost-bins")))["keyword_in_title"]["passed"]
    # In the slug hyphens are spaces, in the keyword as well as in the slug.
    hyphenated = replace(GOOD, primary_keyword="e-commerce platform")
    assert _by_id(analyze(replace(hyphenated, slug="best-e-commerce-platform")))["keyword_in_slug"]["passed"]
    assert not _by_id(analyze(replace(hyphenated, slug="best-commerce-platform")))["keyword_in_slug"]["passed"]


def test_keyword_density_formula() -> None:
    html = "<p>" + "red apple pie " * 2 + "word " * 14 + "</p>"  # 20 words, phrase of 2 used twice
    result = analyze(replace(GOOD, html=html, primary_keyword="Red Apple"))
    assert result["word_count"] == 20
    assert result["keyword_density"] == 20.0


def test_word_count_target_defaults_to_300() -> None:
    words_299 = "<p>" + "Soil is good. " * 99 + "Yes it is.</p>"
    assert count_words(words_299) == 300
    default = replace(GOOD, html=words_299, target_word_count=None)
    assert _by_id(analyze(default))["word_count"]["passed"]
    shorter = replace(default, html=words_299.replace("Yes it is.", "Yes it."))
    check = _by_id(analyze(shorter))["word_count"]
    assert not check["passed"]
    assert check["detail"] == "Content has 299 words; the target is 300."


@pytest.mark.parametrize(
    ("headings", "passed"),
    [
        ("<h1>a</h1><h2>b</h2><h3>c</h3><h2>d</h2><h3>e</h3>", True),
        ("<h2>a</h2><h3>b</h3><h4>c</h4><h2>d</h2>", True),
        ("<h3>a</h3><h4>b</h4>", False),
        ("<h1>a</h1><h3>b</h3>", False),
        ("<h2>a</h2><h4>b</h4>", False),
        ("", True),
    ],
)
def test_heading_hierarchy(headings: str, passed: bool) -> None:
    assert _by_id(analyze(replace(GOOD, html=headings)))["heading_hierarchy"]["passed"] is passed


def test_single_h1_allows_none() -> None:
    assert _by_id(analyze(replace(GOOD, html="<h2>a</h2><p>b</p>")))["single_h1"]["passed"]


def test_missing_alt_attribute_fails_and_no_images_pass() -> None:
    check = _by_id(analyze(replace(GOOD, html='<img src="a.png"><img src="b.png" alt="B">')))["image_alt_text"]
    assert not check["passed"]
    assert check["detail"] == "1 of 2 images lack alt text."
    assert _by_id(analyze(replace(GOOD, html="<p>No pictures.</p>")))["image_alt_text"]["passed"]


def test_readability_uses_english_flesch_without_downloading(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_download(*args: object, **kwargs: object) -> bool:
        raise AssertionError("textstat tried to download an NLTK corpus")

    monkeypatch.setattr(nltk, "download", no_download)
    # Six one-syllable words in one sentence: 206.835 - 1.015 * 6 - 84.6 * 1 = 116.145 (English constants).
    result = analyze(replace(GOOD, html="<p>The dog sat on the rug.</p>"))
    assert result["readability"] == 116.1


def test_the_fast_word_count_counts_what_the_word_pattern_finds() -> None:
    # Letters of several scripts, digits (Arabic-Indic and superscript too), the underscore, the
    # joiners a word may hold inside, punctuation and several kinds of whitespace.
    alphabet = "aZé9٣²_'\u2019\u2010-.,;:!?()\"«»—\u2013 \t\n\u00a0\u2003" + "Жж中文ß"
    rng = random.Random(12)
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        assert seo._word_count(text) == len(seo._WORD.findall(text)), repr(text)
