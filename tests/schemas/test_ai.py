"""The answer schemas: what a model's answer must hold, and the slips they fix instead of refusing."""

from __future__ import annotations

from typing import Any

import pytest
from marshmallow import ValidationError

from config.prompts import PROMPT_TYPES
from schemas.ai import ANSWERS
from schemas.planner import IdeaIn
from schemas.writer import MAX_HTML, ContentIn


def load(prompt_type: str, answer: Any) -> dict[str, Any]:
    return ANSWERS[prompt_type].load(answer)  # type: ignore[no-any-return]


def refused(prompt_type: str, answer: Any) -> Any:
    with pytest.raises(ValidationError) as caught:
        load(prompt_type, answer)
    return caught.value.messages


def idea(**overrides: Any) -> dict[str, Any]:
    return {
        "title": "The Complete Guide to Trail Running",
        "description": [{"heading": "Introduction", "notes": "Why it matters."}],
        "content_type": "post",
        "content_structure": "guide",
        "target_keywords": ["trail running", "trail shoes"],
        "estimated_word_count": 1200,
        **overrides,
    }


def article(**overrides: Any) -> dict[str, Any]:
    return {
        "title": "Trail Running for Beginners",
        "html": "<h2>Start</h2><p>Trail running is running on trails.</p>",
        "meta_title": "Trail Running for Beginners",
        "meta_description": "Everything a beginner needs.",
        "primary_keyword": "trail running",
        "secondary_keywords": ["trail shoes", "trail races"],
        **overrides,
    }


def test_every_prompt_type_has_an_answer_schema() -> None:
    assert set(ANSWERS) == set(PROMPT_TYPES)


# --- clustering --------------------------------------------------------------------------------


def test_a_good_clustering_answer_loads_and_unknown_keys_are_ignored() -> None:
    answer = {
        "clusters": [{"name": "Running Guide", "keywords": ["running shoes"], "description": "Shoes.", "score": 9}],
        "note": "extra",
    }
    assert load("clustering", answer) == {
        "clusters": [{"name": "Running Guide", "keywords": ["running shoes"], "description": "Shoes."}]
    }


def test_a_cluster_without_a_description_or_with_null_gets_an_empty_one() -> None:
    answer = {"clusters": [{"name": "A", "keywords": ["a"]}, {"name": "B", "keywords": ["b"], "description": None}]}
    assert [c["description"] for c in load("clustering", answer)["clusters"]] == ["", ""]


@pytest.mark.parametrize(
    ("answer", "messages"),
    [
        ({}, {"clusters": ["Missing data for required field."]}),
        ({"clusters": []}, {"clusters": ["Shorter than minimum length 1."]}),
        ({"clusters": [{"keywords": ["a"]}]}, {"clusters": {0: {"name": ["Missing data for required field."]}}}),
        ({"clusters": [{"name": "A", "keywords": "a"}]}, {"clusters": {0: {"keywords": ["Not a valid list."]}}}),
        (
            {"clusters": [{"name": "  ", "keywords": ["a"]}]},
            {"clusters": {0: {"name": ["Length must be between 1 and 200."]}}},
        ),
        (["a list"], {"_schema": ["Invalid input type."]}),
    ],
)
def test_a_clustering_answer_missing_what_is_required_is_refused(answer: Any, messages: Any) -> None:
    assert refused("clustering", answer) == messages


def test_an_over_long_cluster_name_is_cut_to_what_a_request_may_send() -> None:
    (cluster,) = load("clustering", {"clusters": [{"name": "N" * 500, "keywords": ["a"]}]})["clusters"]
    assert cluster["name"] == "N" * 200


# --- ideas -------------------------------------------------------------------------------------


def test_a_good_ideas_answer_loads_as_given() -> None:
    assert load("ideas", {"ideas": [idea()]}) == {"ideas": [idea()]}


def test_unknown_choices_and_odd_word_counts_fall_back_to_the_input_defaults() -> None:
    (loaded,) = load(
        "ideas", {"ideas": [idea(content_type="blog post", content_structure=7, estimated_word_count="lots")]}
    )["ideas"]
    assert (loaded["content_type"], loaded["content_structure"], loaded["estimated_word_count"]) == (
        "post",
        "article",
        1000,
    )
    (loaded,) = load("ideas", {"ideas": [idea(estimated_word_count=50_000)]})["ideas"]
    assert loaded["estimated_word_count"] == 1000  # beyond what IdeaIn allows


def test_an_idea_with_only_a_title_gets_every_default() -> None:
    (loaded,) = load("ideas", {"ideas": [{"title": "Only a title"}]})["ideas"]
    assert loaded == {
        "title": "Only a title",
        "description": [],
        "content_type": "post",
        "content_structure": "article",
        "target_keywords": [],
        "estimated_word_count": 1000,
    }


def test_over_long_idea_fields_are_cut_to_the_input_limits() -> None:
    outline = [{"heading": "H" * 400, "notes": "n" * 6000}] * 60
    (loaded,) = load(
        "ideas",
        {"ideas": [idea(title="T" * 400, description=outline, target_keywords=["k" * 300] + ["x"] * 60)]},
    )["ideas"]
    assert loaded["title"] == "T" * 300
    assert len(loaded["description"]) == 50
    assert loaded["description"][0] == {"heading": "H" * 300, "notes": "n" * 5000}
    assert len(loaded["target_keywords"]) == 50 and loaded["target_keywords"][0] == "k" * 255
    # The very limits a user's request is held to.
    for too_long in ({"title": "T" * 301}, {"target_keywords": ["k" * 256]}):
        with pytest.raises(ValidationError):
            IdeaIn().load({"site_id": 1, "title": "T", **too_long})


def test_a_sloppy_outline_keeps_only_sections_with_a_heading() -> None:
    outline = [{"heading": "Intro", "notes": None}, {"notes": "no heading"}, "prose", {"heading": " "}]
    (loaded,) = load("ideas", {"ideas": [idea(description=outline)]})["ideas"]
    assert loaded["description"] == [{"heading": "Intro", "notes": ""}]
    (loaded,) = load("ideas", {"ideas": [idea(description="An outline in prose.")]})["ideas"]
    assert loaded["description"] == []


def test_target_keywords_as_one_string_are_a_list_of_one_and_blanks_are_dropped() -> None:
    (loaded,) = load("ideas", {"ideas": [idea(target_keywords="trail running")]})["ideas"]
    assert loaded["target_keywords"] == ["trail running"]
    (loaded,) = load("ideas", {"ideas": [idea(target_keywords=[" trail ", "", "  "])]})["ideas"]
    assert loaded["target_keywords"] == ["trail"]


@pytest.mark.parametrize(
    ("answer", "messages"),
    [
        ({"ideas": []}, {"ideas": ["Shorter than minimum length 1."]}),
        ({"ideas": [{"description": []}]}, {"ideas": {0: {"title": ["Missing data for required field."]}}}),
        ({"ideas": [idea(title=["a list"])]}, {"ideas": {0: {"title": ["Not a valid string."]}}}),
        ({"ideas": ["just a title"]}, {"ideas": {0: {"_schema": ["Invalid input type."]}}}),
    ],
)
def test_an_ideas_answer_missing_what_is_required_is_refused(answer: Any, messages: Any) -> None:
    assert refused("ideas", answer) == messages


# --- content and optimize ----------------------------------------------------------------------


@pytest.mark.parametrize("prompt_type", ["content", "optimize"])
def test_a_good_article_loads_as_given(prompt_type: str) -> None:
    assert load(prompt_type, article(word_count=1200)) == article()


@pytest.mark.parametrize("prompt_type", ["content", "optimize"])
def test_an_article_with_only_title_and_html_gets_empty_optional_fields(prompt_type: str) -> None:
    loaded = load(prompt_type, {"title": "T", "html": "<p>x</p>", "meta_title": None})
    assert loaded == {
        "title": "T",
        "html": "<p>x</p>",
        "meta_title": "",
        "meta_description": "",
        "primary_keyword": "",
        "secondary_keywords": [],
    }


@pytest.mark.parametrize("prompt_type", ["content", "optimize"])
@pytest.mark.parametrize(
    ("answer", "messages"),
    [
        ({"title": "T"}, {"html": ["Missing data for required field."]}),
        ({"html": "<p>x</p>"}, {"title": ["Missing data for required field."]}),
        ({"title": "T", "html": ""}, {"html": ["Shorter than minimum length 1."]}),
        ({"title": 5, "html": "<p>x</p>"}, {"title": ["Not a valid string."]}),
        (
            {"title": "T", "html": "<p>x</p>", "secondary_keywords": [1]},
            {"secondary_keywords": {0: ["Not a valid string."]}},
        ),
    ],
)
def test_an_article_missing_what_is_required_is_refused(prompt_type: str, answer: Any, messages: Any) -> None:
    assert refused(prompt_type, answer) == messages


def test_over_long_article_fields_are_cut_to_the_content_input_limits() -> None:
    loaded = load(
        "content",
        article(
            title="T" * 400,
            html="<p>" + "x" * MAX_HTML + "</p>",
            meta_title="M" * 400,
            meta_description="D" * 600,
            primary_keyword="K" * 300,
            secondary_keywords=["s" * 300] * 60,
        ),
    )
    assert [len(loaded[name]) for name in ("title", "html", "meta_title", "meta_description", "primary_keyword")] == [
        300,
        MAX_HTML,
        300,
        500,
        255,
    ]
    assert len(loaded["secondary_keywords"]) == 50 and loaded["secondary_keywords"][0] == "s" * 255
    # What was cut is what a request could have sent.
    ContentIn().load({"site_id": 1, **loaded})


# --- image prompts -----------------------------------------------------------------------------


def test_good_image_prompts_load_and_their_kind_is_ignored() -> None:
    answer = {"prompts": [{"kind": "featured", "prompt": "A trail at dawn", "alt_text": "A trail"}]}
    assert load("image_prompts", answer) == {"prompts": [{"prompt": "A trail at dawn", "alt_text": "A trail"}]}


def test_a_bare_string_is_an_image_prompt() -> None:
    answer = {"prompts": ["A trail at dawn", {"prompt": "Muddy shoes"}]}
    assert load("image_prompts", answer) == {
        "prompts": [{"prompt": "A trail at dawn", "alt_text": ""}, {"prompt": "Muddy shoes", "alt_text": ""}]
    }
    assert load("image_prompts", {"prompts": "A trail at dawn"}) == {
        "prompts": [{"prompt": "A trail at dawn", "alt_text": ""}]
    }


def test_a_bare_list_of_strings_is_the_list_of_prompts() -> None:
    assert load("image_prompts", ["A trail", "Shoes"]) == {
        "prompts": [{"prompt": "A trail", "alt_text": ""}, {"prompt": "Shoes", "alt_text": ""}]
    }


def test_over_long_image_prompts_are_cut_to_what_regenerate_accepts_and_alt_text_to_its_column() -> None:
    (loaded,) = load("image_prompts", {"prompts": [{"prompt": "p" * 5000, "alt_text": "a" * 600}]})["prompts"]
    assert (len(loaded["prompt"]), len(loaded["alt_text"])) == (4000, 500)


@pytest.mark.parametrize(
    ("answer", "messages"),
    [
        ({}, {"prompts": ["Missing data for required field."]}),
        ({"prompts": []}, {"prompts": ["Shorter than minimum length 1."]}),
        ({"prompts": [{"alt_text": "A trail"}]}, {"prompts": {0: {"prompt": ["Missing data for required field."]}}}),
        ({"prompts": [" "]}, {"prompts": {0: {"prompt": ["Length must be between 1 and 4000."]}}}),
        ({"prompts": [7]}, {"prompts": {0: {"_schema": ["Invalid input type."]}}}),
    ],
)
def test_image_prompts_missing_what_is_required_are_refused(answer: Any, messages: Any) -> None:
    assert refused("image_prompts", answer) == messages
