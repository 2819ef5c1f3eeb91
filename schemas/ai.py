"""Schemas of the models' answers, one per prompt type (config/prompts.py says what each asks for).

`services.ai_client.chat_json` loads an answer with its schema; a `ValidationError` is what earns
the model its one repair attempt. Required fields missing or of the wrong type are errors; slips
that cost nothing to fix are fixed here instead, so the operations use the loaded data as it is:
`null` means not given, unknown keys are ignored, an unknown choice falls back to the default and
an over-long string is cut. The limits and defaults are those of the input schemas (a model's
idea is stored where a user's idea is), read from their fields so the two never drift apart.
"""

from __future__ import annotations

from typing import Any, cast

from marshmallow import EXCLUDE, Schema, ValidationError, fields, pre_load, validate
from tortoise.fields import CharField

from models.writer import Image
from schemas.jobs import RegenerateIn
from schemas.planner import ClusterIn, IdeaIn, OutlineSection
from schemas.writer import ContentIn

_CLUSTER = ClusterIn().fields
_IDEA = IdeaIn().fields
_SECTION = OutlineSection().fields
_ARTICLE = ContentIn().fields
_IMAGE_PROMPT = RegenerateIn().fields["prompt"]
# No request sets an image's alt text; the column's length is the limit.
_ALT_TEXT = fields.String(validate=validate.Length(max=cast(CharField, Image._meta.fields_map["alt_text"]).max_length))


def _max_length(field: fields.Field) -> int:
    for validator in field.validators:
        if isinstance(validator, validate.Length) and validator.max is not None:
            return validator.max
    raise LookupError(f"{field!r} has no maximum length")


class Clipped(fields.String):
    """A string held to the rules of the input field `like`, but cut to its maximum length
    rather than refused: an over-long title is still a title. Surrounding blanks are dropped,
    and a required answer must not be blank."""

    def __init__(self, like: fields.Field, *, required: bool = False, **kwargs: Any) -> None:
        if required:
            kwargs["validate"] = validate.Length(min=1)
        super().__init__(required=required, **kwargs)
        self.like = like
        self.limit = _max_length(like)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs).strip()[: self.limit]
        return str(self.like.deserialize(text))


class Strings(fields.List):
    """A list of strings held to the input list field `like`: a bare string is a list of one,
    blank items are dropped, each item and the list are cut to their limits."""

    def __init__(self, like: fields.Field, **kwargs: Any) -> None:
        assert isinstance(like, fields.List)
        super().__init__(Clipped(like.inner), **kwargs)
        self.limit = _max_length(like)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[str]:
        if isinstance(value, str):
            value = [value]
        if isinstance(value, list):
            value = [item for item in value if not (isinstance(item, str) and not item.strip())][: self.limit]
        return super()._deserialize(value, attr, data, **kwargs)


class OrDefault(fields.Field):
    """A value the input field `like` accepts, else its default: an unknown content type or an
    odd word count is not worth a repair."""

    def __init__(self, like: fields.Field, **kwargs: Any) -> None:
        super().__init__(load_default=like.load_default, **kwargs)
        self.like = like

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        try:
            return self.like.deserialize(value)
        except ValidationError:
            return self.like.load_default


class AnswerSchema(Schema):
    """The base of every answer: unknown keys are ignored and `null` is a field not given."""

    class Meta:
        unknown = EXCLUDE

    def reshape(self, data: Any) -> Any:
        """Turn a harmless variant of the requested shape into the shape itself."""
        return data

    @pre_load
    def _normalise(self, data: Any, **kwargs: Any) -> Any:
        data = self.reshape(data)
        if isinstance(data, dict):
            return {key: value for key, value in data.items() if value is not None}
        return data


def _non_empty_list(item: fields.Field) -> fields.List:
    return fields.List(item, required=True, validate=validate.Length(min=1))


# --- clustering --------------------------------------------------------------------------------


class ClusterAnswer(AnswerSchema):
    name = Clipped(_CLUSTER["name"], required=True)
    # Copies of the site's keywords, matched by the operation; one that matches none is skipped.
    keywords = _non_empty_list(fields.String())
    description = Clipped(_CLUSTER["description"], load_default="")


class ClusteringAnswer(AnswerSchema):
    clusters = _non_empty_list(fields.Nested(ClusterAnswer))


# --- ideas -------------------------------------------------------------------------------------


class SectionAnswer(AnswerSchema):
    heading = Clipped(_SECTION["heading"], required=True)
    notes = Clipped(_SECTION["notes"], load_default="")


class IdeaAnswer(AnswerSchema):
    title = Clipped(_IDEA["title"], required=True)
    description = fields.List(fields.Nested(SectionAnswer), load_default=list)
    content_type = OrDefault(_IDEA["content_type"])
    content_structure = OrDefault(_IDEA["content_structure"])
    target_keywords = Strings(_IDEA["target_keywords"], load_default=list)
    estimated_word_count = OrDefault(_IDEA["estimated_word_count"])

    def reshape(self, data: Any) -> Any:
        """The outline is a nicety: sections without a heading are dropped, a non-list outline
        is none, and it is cut to the sections an idea may have."""
        if isinstance(data, dict) and "description" in data:
            outline = data["description"]
            sections = [
                section
                for section in (outline if isinstance(outline, list) else [])
                if isinstance(section, dict) and isinstance(section.get("heading"), str) and section["heading"].strip()
            ]
            data = {**data, "description": sections[: _max_length(_IDEA["description"])]}
        return data


class IdeasAnswer(AnswerSchema):
    ideas = _non_empty_list(fields.Nested(IdeaAnswer))


# --- content and optimize ----------------------------------------------------------------------


class ContentAnswer(AnswerSchema):
    title = Clipped(_ARTICLE["title"], required=True)
    html = Clipped(_ARTICLE["html"], required=True)
    meta_title = Clipped(_ARTICLE["meta_title"], load_default="")
    meta_description = Clipped(_ARTICLE["meta_description"], load_default="")
    primary_keyword = Clipped(_ARTICLE["primary_keyword"], load_default="")
    secondary_keywords = Strings(_ARTICLE["secondary_keywords"], load_default=list)


class OptimizeAnswer(ContentAnswer):
    """The rewritten article, in the shape of a new one."""


# --- image prompts -----------------------------------------------------------------------------


class ImagePromptAnswer(AnswerSchema):
    prompt = Clipped(_IMAGE_PROMPT, required=True)
    alt_text = Clipped(_ALT_TEXT, load_default="")

    def reshape(self, data: Any) -> Any:
        return {"prompt": data} if isinstance(data, str) else data


class ImagePromptsAnswer(AnswerSchema):
    prompts = _non_empty_list(fields.Nested(ImagePromptAnswer))

    def reshape(self, data: Any) -> Any:
        """A bare list is the list of prompts, and a bare prompt is a list of one."""
        if isinstance(data, list):
            return {"prompts": data}
        if isinstance(data, dict) and isinstance(data.get("prompts"), str | dict):
            return {**data, "prompts": [data["prompts"]]}
        return data


ANSWERS: dict[str, Schema] = {
    "clustering": ClusteringAnswer(),
    "ideas": IdeasAnswer(),
    "content": ContentAnswer(),
    "image_prompts": ImagePromptsAnswer(),
    "optimize": OptimizeAnswer(),
}
