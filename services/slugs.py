"""Readable slugs from titles in any script, made unique within their scope with -2, -3 … as WordPress does."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

from slugify import slugify
from tortoise.exceptions import IntegrityError
from tortoise.models import Model
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from services.errors import Duplicate

M = TypeVar("M", bound=Model)
SUFFIX_ROOM = 11  # "-" and up to ten digits
# Tries at an insert (or save) whose slug another request took after it was chosen: each request
# made at once with the same title takes the next free one, so as many may succeed as there are tries.
ATTEMPTS = 10


def readable_slug(text: str, max_length: int, fallback: str) -> str:
    """Lower-case ASCII words joined by hyphens, transliterated from any script ("Привет, мир" → "privet-mir"),
    cut at a word boundary to `max_length`; `fallback` when nothing is left (a title of punctuation only)."""
    return slugify(text, max_length=max_length, word_boundary=True, save_order=True) or fallback


# The slugs looked up one by one (an index lookup each) before every slug of the stem is read.
CANDIDATES = 10
# Which of some candidate slugs a scope already has.
TakenSlugs = Callable[[list[str]], Awaitable[Iterable[str]]]


def slug_candidates(text: str, *, max_length: int, fallback: str) -> list[str]:
    """The first slugs `unique_slug` tries for `text`, in its order: `readable_slug(text)`, then
    with -2 … -CANDIDATES, each cut to fit `max_length` with its suffix."""
    slug = readable_slug(text, max_length, fallback)
    candidates = [slug]
    for n in range(2, CANDIDATES + 1):
        suffix = f"-{n}"
        # A slug that fits beside its suffix is what a shorter budget would give too.
        stem = (
            slug if len(slug) + len(suffix) <= max_length else readable_slug(text, max_length - len(suffix), fallback)
        )
        candidates.append(stem + suffix)
    return candidates


def _taken_in(scope: QuerySet[Any]) -> TakenSlugs:
    async def taken(candidates: list[str]) -> Iterable[str]:
        slugs: list[Any] = await scope.filter(slug__in=candidates).values_list("slug", flat=True)
        return slugs

    return taken


async def unique_slug(
    text: str, scope: QuerySet[Any], *, max_length: int, fallback: str, taken: TakenSlugs | None = None
) -> str:
    """`readable_slug(text)`, or with -2, -3 … appended while a row of `scope` has it; never over `max_length`.

    `taken` may answer the first lookup instead of the ORM (a hand-written query for a hot path);
    it must see the rows `scope` sees."""
    candidates = slug_candidates(text, max_length=max_length, fallback=fallback)
    found = set(await (taken or _taken_in(scope))(candidates))
    free = next((slug for slug in candidates if slug not in found), None)
    if free is not None:
        return free
    # Every candidate is taken: read every slug of the stem (a prefix scan of the scope) once.
    # A shorter budget keeps fewer words of the same slug, so every candidate starts with this stem.
    stem = readable_slug(text, max_length - SUFFIX_ROOM, fallback)
    stems: set[Any] = set(await scope.filter(slug__startswith=stem).values_list("slug", flat=True))
    n = CANDIDATES
    while True:
        n += 1
        suffix = f"-{n}"
        slug = readable_slug(text, max_length - len(suffix), fallback) + suffix
        if slug not in stems:
            return slug


async def create_with_unique_slug(
    model: type[M], text: str, scope: QuerySet[Any], *, max_length: int, fallback: str, **values: Any
) -> M:
    """Create a `model` row whose slug comes from `text` and is unique within `scope`."""
    for _attempt in range(ATTEMPTS):
        slug = await unique_slug(text, scope, max_length=max_length, fallback=fallback)
        try:
            # A savepoint when the caller holds a transaction: a refused insert must not abort it.
            async with in_transaction():
                return await model.create(slug=slug, **values)
        except IntegrityError:
            continue  # a concurrent request took the slug between the check and the insert
    raise Duplicate("Could not find a free slug; try again.")
