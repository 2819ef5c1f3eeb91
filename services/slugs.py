"""Readable slugs from titles in any script, made unique within their scope with -2, -3 … as WordPress does."""

from __future__ import annotations

from typing import Any, TypeVar

from slugify import slugify
from tortoise.exceptions import IntegrityError
from tortoise.models import Model
from tortoise.queryset import QuerySet

from services.errors import Duplicate

M = TypeVar("M", bound=Model)
SUFFIX_ROOM = 11  # "-" and up to ten digits
ATTEMPTS = 3


def readable_slug(text: str, max_length: int, fallback: str) -> str:
    """Lower-case ASCII words joined by hyphens, transliterated from any script ("Привет, мир" → "privet-mir"),
    cut at a word boundary to `max_length`; `fallback` when nothing is left (a title of punctuation only)."""
    return slugify(text, max_length=max_length, word_boundary=True, save_order=True) or fallback


async def unique_slug(text: str, scope: QuerySet[Any], *, max_length: int, fallback: str) -> str:
    """`readable_slug(text)`, or with -2, -3 … appended while a row of `scope` has it; never over `max_length`."""
    # A shorter budget keeps fewer words of the same slug, so every candidate starts with this stem.
    stem = readable_slug(text, max_length - SUFFIX_ROOM, fallback)
    taken = set(await scope.filter(slug__startswith=stem).values_list("slug", flat=True))
    slug, n = readable_slug(text, max_length, fallback), 1
    while slug in taken:
        n += 1
        suffix = f"-{n}"
        slug = readable_slug(text, max_length - len(suffix), fallback) + suffix
    return slug


async def create_with_unique_slug(
    model: type[M], text: str, scope: QuerySet[Any], *, max_length: int, fallback: str, **values: Any
) -> M:
    """Create a `model` row whose slug comes from `text` and is unique within `scope`."""
    for _attempt in range(ATTEMPTS):
        slug = await unique_slug(text, scope, max_length=max_length, fallback=fallback)
        try:
            return await model.create(slug=slug, **values)
        except IntegrityError:
            continue  # a concurrent request took the slug between the check and the insert
    raise Duplicate("Could not find a free slug; try again.")
