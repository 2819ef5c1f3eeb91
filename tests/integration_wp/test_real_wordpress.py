"""Against a real WordPress 6.1 (../shared/wp/wp_up.sh; CI starts it in .ci/run): connect, a wrong
application password, structure, collections, media, terms, and `?rest_route=` with pretty
permalinks turned off.

The site comes from WP_BASE_URL, WP_USER and WP_APP_PASSWORD (or, when those aren't set, from the
wp.env that wp_up.sh wrote in WP_STATE_DIR, /tmp/wpdev by default). Without a WordPress answering
there these tests skip with the reason, or fail when INKFLOW_REQUIRE_SERVICES=1. The WordPress
keeps its content between runs, so every object made here has a unique name and is deleted.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from services.outbound import Outbound
from services.wordpress import WordPressAuthFailed, WordPressClient, WordPressError
from tests.conftest import REQUIRE_SERVICES
from tests.fakes.openai_server import make_png
from tests.helpers import Api, Caller

BASE = "/api/v1/integration/"
PERMALINKS_SCRIPT = Path(__file__).with_name("permalinks.php")
WORDPRESS_LOAD = Path("/usr/share/wordpress/wp-load.php")


@dataclass(frozen=True)
class RealWordPress:
    base_url: str
    username: str
    app_password: str


def _env_file_values() -> dict[str, str]:
    path = Path(os.environ.get("WP_STATE_DIR", "/tmp/wpdev")) / "wp.env"
    if not path.is_file():
        return {}
    values = {}
    for line in path.read_text().splitlines():
        name, sep, value = line.partition("=")
        if sep:
            values[name.strip()] = value.strip()
    return values


def _unavailable(reason: str) -> None:
    message = f"no real WordPress: {reason} (start one with ../shared/wp/wp_up.sh)"
    if REQUIRE_SERVICES:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def real_wp_settings() -> RealWordPress | None:
    values = {**_env_file_values(), **{k: v for k, v in os.environ.items() if k.startswith("WP_")}}
    if not all(values.get(k) for k in ("WP_BASE_URL", "WP_USER", "WP_APP_PASSWORD")):
        return None
    return RealWordPress(values["WP_BASE_URL"].rstrip("/"), values["WP_USER"], values["WP_APP_PASSWORD"])


@pytest.fixture
async def outbound() -> AsyncIterator[Outbound]:
    out = Outbound(allow_private=True)
    yield out
    await out.close()


@pytest.fixture
async def real_wp(real_wp_settings: RealWordPress | None, outbound: Outbound) -> RealWordPress:
    if real_wp_settings is None:
        _unavailable("WP_BASE_URL, WP_USER and WP_APP_PASSWORD are not set and no wp.env was found")
    assert real_wp_settings is not None
    try:
        async with outbound.session.get(f"{real_wp_settings.base_url}/?rest_route=/") as response:
            answered = response.status == 200
    except Exception as exc:  # any failure to reach it means it isn't there
        _unavailable(f"{real_wp_settings.base_url} does not answer ({type(exc).__name__})")
    if not answered:
        _unavailable(f"{real_wp_settings.base_url}/?rest_route=/ answered {response.status}")
    return real_wp_settings


def client(outbound: Outbound, wp: RealWordPress, **overrides: Any) -> WordPressClient:
    values: dict[str, Any] = {
        "base_url": wp.base_url,
        "username": wp.username,
        "app_password": wp.app_password,
        "timeout": 30.0,
        "backoff_base": 0.1,
    }
    values.update(overrides)
    return WordPressClient(outbound.session, **values)


def unique(name: str) -> str:
    return f"{name} {uuid.uuid4().hex[:8]}"


async def integration(api: Api, owner: Caller, wp: RealWordPress, **overrides: Any) -> dict[str, Any]:
    site = await api.site(owner)
    body = {"site_id": site["id"], "base_url": wp.base_url, "username": wp.username, "app_password": wp.app_password}
    body.update(overrides)
    return (await api.call("POST", BASE, json=body, as_=owner, status=201))["data"]


# --- through the API ---


async def test_test_connection_to_the_real_wordpress(api: Api, real_wp: RealWordPress) -> None:
    owner = await api.register()
    created = await integration(api, owner, real_wp)
    result = (await api.call("POST", f"{BASE}{created['id']}/test_connection/", as_=owner))["data"]
    assert result["ok"] is True, result
    assert result["user"]["username"] == real_wp.username and "administrator" in result["user"]["roles"]
    assert {"publish_posts", "upload_files", "manage_categories"} <= set(result["capabilities"])
    assert result["site_name"] and result["api_style"] == "wp-json"
    # The address it gives itself is the one it is reached at: its plugin's webhooks are taken.
    assert result["home"].rstrip("/") == real_wp.base_url.rstrip("/") and result["webhooks_accepted"] is True


async def test_a_wrong_application_password_is_named(api: Api, real_wp: RealWordPress) -> None:
    owner = await api.register()
    created = await integration(api, owner, real_wp, app_password="abcd efgh ijkl mnop qrst uvwx")
    result = (await api.call("POST", f"{BASE}{created['id']}/test_connection/", as_=owner))["data"]
    assert result["ok"] is False and result["code"] == "wordpress_auth_failed"
    assert "application password" in result["error"] and "rest_not_logged_in" in result["error"]
    path = f"{BASE}{created['id']}/test_collection_connection/"
    media = (await api.call("POST", path, json={"collection": "media"}, as_=owner))["data"]
    assert media["ok"] is False and media["code"] == "wordpress_auth_failed"


async def test_structure_content_types_and_every_collection(api: Api, real_wp: RealWordPress) -> None:
    owner = await api.register()
    created = await integration(api, owner, real_wp)
    path = f"{BASE}{created['id']}/"
    structure = (await api.call("POST", f"{path}update_structure/", as_=owner))["data"]
    assert structure["ok"] is True, structure
    assert {"post", "page", "attachment"} <= {t["slug"] for t in structure["structure"]["post_types"]}
    assert {"category", "post_tag"} <= {t["slug"] for t in structure["structure"]["taxonomies"]}
    types = (await api.call("GET", f"{path}content_types/", as_=owner))["data"]
    assert types["refreshed"] is False and [t["slug"] for t in types["content_types"]][:2] == ["post", "page"]
    for collection in ("posts", "pages", "categories", "tags", "media", "types"):
        check = {"collection": collection}
        result = (await api.call("POST", f"{path}test_collection_connection/", json=check, as_=owner))["data"]
        assert result["ok"] is True and isinstance(result["total"], int), result


# --- the client ---


async def test_wordpress_answers_an_anonymous_draft_list_with_400_and_it_is_an_auth_failure(
    outbound: Outbound, real_wp: RealWordPress
) -> None:
    wrong = client(outbound, real_wp, app_password="abcd efgh ijkl mnop qrst uvwx")
    with pytest.raises(WordPressAuthFailed) as failed:
        await wrong.get("/wp/v2/posts", status="draft")
    assert failed.value.status == 400 and failed.value.wp_code == "rest_invalid_param"
    with pytest.raises(WordPressAuthFailed) as create:
        await wrong.create("posts", {"title": "never"})
    assert create.value.wp_code == "rest_cannot_create"


async def test_terms_pagination_and_duplicates(outbound: Outbound, real_wp: RealWordPress) -> None:
    wp = client(outbound, real_wp)
    marker = uuid.uuid4().hex[:8]
    made = [await wp.create("tags", {"name": f"Paging {marker} {n}"}) for n in range(3)]
    try:
        pages = [page async for page in wp.pages("/wp/v2/tags", {"search": marker}, per_page=2)]
        assert [(len(p.items), p.total, p.total_pages) for p in pages] == [(2, 3, 2), (1, 3, 2)]
        with pytest.raises(WordPressError) as duplicate:
            await wp.create("tags", {"name": made[0]["name"]})
        assert duplicate.value.wp_code == "term_exists" and duplicate.value.data["term_id"] == made[0]["id"]
    finally:
        for tag in made:
            await wp.delete("tags", tag["id"])


async def test_paging_by_id_reads_every_post_once_when_posts_are_deleted_meanwhile(
    outbound: Outbound, real_wp: RealWordPress
) -> None:
    """WordPress's own `offset`, `orderby=id` and X-WP-Total, as `page_after` relies on them: with
    the two posts of page 1 deleted, the third slides onto page 1, past the next page's start."""
    wp = client(outbound, real_wp)
    marker = unique("Offset paging")
    ids = [(await wp.create("posts", {"title": f"{marker} {n}", "status": "draft"}))["id"] for n in range(5)]
    query = {"search": marker, "status": "any", "context": "edit"}
    try:
        first = await wp.page_after("/wp/v2/posts", query, per_page=2)
        assert [p["id"] for p in first.items] == ids[:2] and first.total == 5
        for post_id in ids[:2]:
            await wp.delete("posts", post_id)
        read, cursor, number = [], first.next, 1
        while cursor is not None:
            number += 1
            page = await wp.page_after("/wp/v2/posts", query, cursor, page=number, per_page=2)
            read += [p["id"] for p in page.items]
            cursor = page.next
        assert read == ids[2:]
    finally:
        for post_id in ids[2:]:
            await wp.delete("posts", post_id)


async def test_media_upload_with_alt_text(outbound: Outbound, real_wp: RealWordPress) -> None:
    wp = client(outbound, real_wp)
    name = unique("inkflow test").replace(" ", "-") + ".png"
    media = await wp.upload_media(name, make_png(), "image/png", alt_text="A test pixel")
    try:
        assert media["alt_text"] == "A test pixel" and media["mime_type"] == "image/png"
        assert media["source_url"].endswith(".png")
    finally:
        await wp.delete("media", media["id"])


# --- pretty permalinks off ---


@pytest.fixture
def permalinks_off(real_wp: RealWordPress) -> Iterator[None]:
    """Turn pretty permalinks off for one test (with WordPress's own PHP), and back on after."""
    php = shutil.which("php")
    if php is None or not WORDPRESS_LOAD.is_file() or os.geteuid() != 0:
        _unavailable("turning permalinks off needs php, the wordpress package and root (the fake covers it)")
    assert php is not None
    host = urlsplit(real_wp.base_url).netloc

    def set_structure(structure: str) -> None:
        subprocess.run([php, str(PERMALINKS_SCRIPT), host, structure], check=True, capture_output=True, timeout=60)

    set_structure("")
    try:
        yield
    finally:
        set_structure("/%postname%/")


@pytest.mark.usefixtures("permalinks_off")
async def test_without_pretty_permalinks_the_client_falls_back_to_rest_route(
    api: Api, outbound: Outbound, real_wp: RealWordPress
) -> None:
    remembered = client(outbound, real_wp, api_style="wp-json")
    tag = await remembered.create("tags", {"name": unique("Fallback")})
    try:
        assert remembered.api_style == "rest_route"
        found = [t async for t in remembered.tags(search=tag["name"])]
        assert [t["id"] for t in found] == [tag["id"]]  # created once, though first sent to /wp-json/
    finally:
        await remembered.delete("tags", tag["id"])
    owner = await api.register()
    created = await integration(api, owner, real_wp)
    result = (await api.call("POST", f"{BASE}{created['id']}/test_connection/", as_=owner))["data"]
    assert result["ok"] is True and result["api_style"] == "rest_route"
