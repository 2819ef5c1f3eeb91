"""Slugs: readable from any script, bounded, and unique within their scope with -2, -3 …"""

from __future__ import annotations

import pytest

from models.accounts import Account, Site
from models.writer import Content
from services.slugs import readable_slug, unique_slug
from services.writer import content_slug


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("Привет, мир", "privet-mir"),
        ("Café Crème", "cafe-creme"),
        ("你好世界", "ni-hao-shi-jie"),
        ("안녕하세요", "annyeonghaseyo"),
        ("Straße über Łódź", "strasse-uber-lodz"),
        ("C++ & Go: 10% off!", "c-go-10-off"),
        ("  Trail   running -- guide  ", "trail-running-guide"),
    ],
)
def test_titles_in_any_script_become_readable_ascii_slugs(title: str, slug: str) -> None:
    assert readable_slug(title, 60, "site") == slug


def test_a_japanese_title_gets_its_transliteration_not_the_fallback() -> None:
    slug = readable_slug("東京の天気", 60, "site")
    assert slug.isascii() and slug.startswith("dong-jing") and slug != "site"


def test_a_title_of_punctuation_only_gets_the_fallback() -> None:
    assert readable_slug("!!! ???", 60, "content") == "content"
    assert readable_slug("", 60, "site") == "site"


def test_long_titles_are_cut_between_words() -> None:
    slug = readable_slug("The complete guide to trail running in the mountains", 24, "site")
    assert slug == "the-complete-guide-to"
    assert readable_slug("a" * 100, 24, "site") == "a" * 24  # one long word is cut inside it


async def _site(account: Account, slug: str) -> Site:
    return await Site.create(account=account, name=slug, domain="example.com", slug=slug)


@pytest.mark.usefixtures("client")
async def test_colliding_titles_get_numbered_suffixes_in_their_scope() -> None:
    account = await Account.create(name="Slugs")
    slugs = []
    for _ in range(3):
        slug = await unique_slug("Привет, мир", Site.all(), max_length=60, fallback="site")
        await _site(account, slug)
        slugs.append(slug)
    assert slugs == ["privet-mir", "privet-mir-2", "privet-mir-3"]
    # Another scope does not see these rows: the plain slug is free there.
    assert await unique_slug("Привет, мир", Site.filter(id=0), max_length=60, fallback="site") == "privet-mir"
    # A slug that merely starts like the title's is not a collision.
    await _site(account, "cafe-creme-brulee")
    assert await unique_slug("Café Crème", Site.all(), max_length=60, fallback="site") == "cafe-creme"


@pytest.mark.usefixtures("client")
async def test_a_numbered_slug_never_exceeds_the_length_and_keeps_whole_words() -> None:
    account = await Account.create(name="Long slugs")
    title = "word " * 40
    first = await unique_slug(title, Site.all(), max_length=30, fallback="site")
    assert first == "-".join(["word"] * 6)  # 29 characters
    await _site(account, first)
    second = await unique_slug(title, Site.all(), max_length=30, fallback="site")
    assert second == "-".join(["word"] * 5) + "-2" and len(second) <= 30
    for n in range(2, 11):
        await _site(account, "-".join(["word"] * 5) + f"-{n}")
    eleventh = await unique_slug(title, Site.all(), max_length=30, fallback="site")
    assert eleventh == "-".join(["word"] * 5) + "-11" and len(eleventh) <= 30


@pytest.mark.usefixtures("client")
async def test_a_content_slug_is_unique_on_its_site_beside_its_own_and_past_ten_collisions() -> None:
    account = await Account.create(name="Content slugs")
    site, other = await _site(account, "one"), await _site(account, "two")

    async def content(on: Site, slug: str) -> Content:
        return await Content.create(account_id=account.id, site_id=on.id, title=slug, slug=slug)

    await content(other, "trail-guide")
    assert await content_slug(site.id, "Trail guide") == "trail-guide"  # another site's slug is free here
    mine = await content(site, "trail-guide")
    assert await content_slug(site.id, "Trail guide") == "trail-guide-2"
    assert await content_slug(site.id, "Trail guide", exclude_id=mine.id) == "trail-guide"  # its own slug
    for n in range(2, 11):
        await content(site, f"trail-guide-{n}")
    assert await content_slug(site.id, "Trail guide") == "trail-guide-11"  # past the candidates
    await content(site, "trail-guide-11")
    assert await content_slug(site.id, "Trail guide", exclude_id=mine.id) == "trail-guide"
    assert await content_slug(other.id, "Trail guide") == "trail-guide-2"
