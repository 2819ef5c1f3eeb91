"""The WordPress client against the fake WordPress (tests/fakes/wordpress_server.py): URL styles,
retries, pagination and each typed error."""

from __future__ import annotations

import socket
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from services.outbound import Outbound
from services.wordpress import (
    ApplicationPasswordsUnavailable,
    ListCursor,
    NotWordPress,
    WordPressAuthFailed,
    WordPressClient,
    WordPressError,
    WordPressNotFound,
    WordPressRateLimited,
    WordPressServerError,
    WordPressTimeout,
    WordPressUnreachable,
    retry_after_seconds,
    safe_filename,
)
from tests.fakes.openai_server import make_png
from tests.fakes.wordpress_server import OLD_DATE, FakeWordPress

MakeClient = Callable[..., WordPressClient]


@pytest.fixture
async def outbound() -> AsyncIterator[Outbound]:
    out = Outbound(allow_private=True)
    yield out
    await out.close()


@pytest.fixture
def make_client(outbound: Outbound, wp: FakeWordPress) -> MakeClient:
    def make(**overrides: Any) -> WordPressClient:
        values: dict[str, Any] = {
            "base_url": wp.base_url,
            "username": wp.username,
            "app_password": wp.app_password,
            "timeout": 2.0,
            "backoff_base": 0.01,
            "backoff_cap": 2.0,
        }
        values.update(overrides)
        return WordPressClient(outbound.session, **values)

    return make


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- URL styles ---


async def test_a_site_with_pretty_permalinks_is_used_through_wp_json(
    make_client: MakeClient, wp: FakeWordPress
) -> None:
    client = make_client()
    me = await client.me()
    assert me["username"] == "admin" and me["capabilities"]["publish_posts"] is True
    assert client.api_style == "wp-json"
    assert {call["path"] for call in wp.rest_calls()} == {"/wp-json/", "/wp-json/wp/v2/users/me"}


async def test_a_site_without_pretty_permalinks_is_detected_and_used_through_rest_route(
    make_client: MakeClient, wp: FakeWordPress
) -> None:
    wp.pretty_permalinks = False
    client = make_client()
    assert (await client.me())["id"] == 1
    assert client.api_style == "rest_route"
    me_calls = wp.rest_calls("/wp/v2/users/me")
    assert len(me_calls) == 1 and me_calls[0]["path"] == "/"


async def test_a_site_that_turns_pretty_permalinks_off_is_followed_and_a_write_happens_once(
    make_client: MakeClient, wp: FakeWordPress
) -> None:
    client = make_client(api_style="wp-json")
    wp.pretty_permalinks = False
    term = await client.create("tags", {"name": "Fallback"})
    assert client.api_style == "rest_route"
    assert [t["name"] for t in wp.terms["tags"].values()] == ["Fallback"] and term["name"] == "Fallback"


async def test_a_remembered_rest_route_style_is_used_without_discovery(
    make_client: MakeClient, wp: FakeWordPress
) -> None:
    wp.pretty_permalinks = False
    client = make_client(api_style="rest_route")
    await client.me()
    assert [call["route"] for call in wp.rest_calls()] == ["/wp/v2/users/me"]


# --- typed errors ---


async def test_a_wrong_application_password_is_named_for_reads_writes_and_drafts(make_client: MakeClient) -> None:
    client = make_client(app_password="wrong wrong wrong wrong")
    with pytest.raises(WordPressAuthFailed) as me:
        await client.me()
    assert me.value.wp_code == "rest_not_logged_in" and me.value.status == 401
    assert "application password" in me.value.message and "'admin'" in me.value.message
    with pytest.raises(WordPressAuthFailed) as create:
        await client.create("posts", {"title": "x"})
    assert create.value.wp_code == "rest_cannot_create"
    # WordPress answers an anonymous status=draft with a 400, not a 401.
    with pytest.raises(WordPressAuthFailed) as drafts:
        await client.get("/wp/v2/posts", status="draft")
    assert drafts.value.status == 400 and drafts.value.wp_code == "rest_invalid_param"


async def test_a_site_without_application_passwords_says_so(make_client: MakeClient, wp: FakeWordPress) -> None:
    wp.app_passwords = False
    with pytest.raises(ApplicationPasswordsUnavailable) as refused:
        await make_client().me()
    assert "https" in refused.value.message and refused.value.code == "wordpress_app_passwords_unavailable"


async def test_a_remembered_style_still_tells_unavailable_application_passwords(
    make_client: MakeClient, wp: FakeWordPress
) -> None:
    wp.app_passwords = False
    with pytest.raises(ApplicationPasswordsUnavailable):
        await make_client(api_style="wp-json").me()


async def test_an_ordinary_web_site_is_not_wordpress(make_client: MakeClient, wp: FakeWordPress) -> None:
    wp.not_wordpress = True
    with pytest.raises(NotWordPress) as refused:
        await make_client().me()
    assert wp.base_url in refused.value.message and refused.value.code == "not_wordpress"


async def test_html_instead_of_json_is_not_wordpress(make_client: MakeClient, wp: FakeWordPress) -> None:
    wp.always("html")
    with pytest.raises(NotWordPress):
        await make_client(api_style="wp-json").me()


async def test_an_unreachable_host_is_named_after_the_retries(make_client: MakeClient) -> None:
    client = make_client(base_url=f"http://127.0.0.1:{free_port()}", max_attempts=3)
    with pytest.raises(WordPressUnreachable) as failed:
        await client.me()
    assert "Could not connect to 127.0.0.1" in failed.value.message and failed.value.code == "wordpress_unreachable"


async def test_a_missing_object_and_a_duplicate_term_keep_what_wordpress_said(
    make_client: MakeClient, wp: FakeWordPress
) -> None:
    client = make_client()
    with pytest.raises(WordPressNotFound) as missing:
        await client.get_object("posts", 999)
    assert missing.value.wp_code == "rest_post_invalid_id"
    first = await client.create("tags", {"name": "Land mammals"})
    with pytest.raises(WordPressError) as duplicate:
        await client.create("tags", {"name": "Land mammals"})
    assert duplicate.value.wp_code == "term_exists" and duplicate.value.data["term_id"] == first["id"]


# --- retries ---


async def test_a_read_is_retried_after_server_errors(make_client: MakeClient, wp: FakeWordPress) -> None:
    client = make_client(api_style="wp-json")
    wp.fail_next("500", times=2)
    assert (await client.me())["id"] == 1
    assert len(wp.rest_calls("/wp/v2/users/me")) == 3


async def test_a_read_gives_up_after_max_attempts(make_client: MakeClient, wp: FakeWordPress) -> None:
    client = make_client(api_style="wp-json", max_attempts=3)
    wp.always("503")
    with pytest.raises(WordPressServerError) as failed:
        await client.me()
    assert failed.value.status == 503 and len(wp.rest_calls("/wp/v2/users/me")) == 3


async def test_a_write_is_not_retried_after_a_server_error(make_client: MakeClient, wp: FakeWordPress) -> None:
    client = make_client(api_style="wp-json")
    wp.fail_next("500")
    with pytest.raises(WordPressServerError) as failed:
        await client.create("posts", {"title": "Once"})
    assert failed.value.wp_code == "internal_server_error"
    assert len(wp.rest_calls("/wp/v2/posts", "POST")) == 1 and wp.objects["posts"] == {}


async def test_429_waits_as_long_as_retry_after_says_and_a_write_is_retried(
    make_client: MakeClient, wp: FakeWordPress
) -> None:
    client = make_client(api_style="wp-json")
    wp.fail_next("429", retry_after=0.4)
    started = time.monotonic()
    await client.create("tags", {"name": "After a wait"})
    assert time.monotonic() - started >= 0.4
    assert len(wp.rest_calls("/wp/v2/tags", "POST")) == 2 and len(wp.terms["tags"]) == 1


async def test_429_without_end_is_a_rate_limit_error(make_client: MakeClient, wp: FakeWordPress) -> None:
    client = make_client(api_style="wp-json", max_attempts=2)
    wp.always("429")
    with pytest.raises(WordPressRateLimited):
        await client.me()


async def test_a_slow_site_times_out_and_a_read_is_tried_again(make_client: MakeClient, wp: FakeWordPress) -> None:
    client = make_client(api_style="wp-json", timeout=0.3, max_attempts=2)
    wp.always("slow", seconds=2)
    with pytest.raises(WordPressTimeout) as failed:
        await client.me()
    assert "within 0.3 s" in failed.value.message and len(wp.rest_calls("/wp/v2/users/me")) == 2


async def test_a_dropped_connection_is_retried_for_reads(make_client: MakeClient, wp: FakeWordPress) -> None:
    client = make_client(api_style="wp-json")
    wp.fail_next("drop")
    assert (await client.me())["id"] == 1
    assert len(wp.rest_calls("/wp/v2/users/me")) == 2


async def test_a_write_whose_answer_is_lost_is_not_sent_again(make_client: MakeClient, wp: FakeWordPress) -> None:
    client = make_client(api_style="wp-json")
    wp.fail_next("drop_after_write")
    with pytest.raises(WordPressUnreachable):
        await client.create("posts", {"title": "Written once"})
    assert [p["title"]["raw"] for p in wp.objects["posts"].values()] == ["Written once"]


def test_retry_after_takes_seconds_and_http_dates() -> None:
    assert retry_after_seconds("2") == 2.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past: no wait
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


# --- pagination ---


async def test_pages_read_every_item_once_in_id_order(make_client: MakeClient, wp: FakeWordPress) -> None:
    made = [wp.add_post(title=f"Post {n}")["id"] for n in range(250)]
    pages = [page async for page in make_client().pages("/wp/v2/posts")]
    # Each page after the first starts at the last item read (one item of overlap).
    assert [(p.page, len(p.items), p.total, p.total_pages) for p in pages] == [
        (1, 100, 250, 3),
        (2, 99, 250, 3),
        (3, 51, 250, 3),
    ]
    assert [item["id"] for p in pages for item in p.items] == made
    calls = wp.rest_calls("/wp/v2/posts")
    assert [(c["query"]["offset"], c["query"]["orderby"], c["query"]["order"]) for c in calls] == [
        ("0", "id", "asc"),
        ("99", "id", "asc"),
        ("198", "id", "asc"),
    ]
    ids = [item["id"] async for item in make_client().posts()]
    assert ids == made


async def test_pages_without_paging_headers_end_at_a_short_page(make_client: MakeClient, wp: FakeWordPress) -> None:
    wp.paging_headers = False
    for n in range(150):
        wp.add_term("tags", f"Tag {n}")
    pages = [page async for page in make_client().pages("/wp/v2/tags")]
    assert [len(p.items) for p in pages] == [100, 50] and pages[0].total is None
    for n in range(150, 200):
        wp.add_term("tags", f"Tag {n}")
    pages = [page async for page in make_client().pages("/wp/v2/tags")]
    # Exactly 200: the overlap makes the third page short, which ends the list.
    assert [len(p.items) for p in pages] == [100, 99, 1]
    assert len({item["id"] for p in pages for item in p.items}) == 200


async def test_an_empty_list_is_one_empty_page(make_client: MakeClient) -> None:
    pages = [page async for page in make_client().pages("/wp/v2/posts")]
    assert [(p.items, p.total, p.total_pages, p.next) for p in pages] == [([], 0, 0, None)]


async def test_items_deleted_while_paging_dont_make_it_skip_others(make_client: MakeClient, wp: FakeWordPress) -> None:
    """Page numbers skipped one post for every post deleted before the page being read."""
    made = [wp.add_post(title=f"Post {n}")["id"] for n in range(250)]
    deleted = made[10:13]

    def delete_three(route: str, query: dict[str, str]) -> None:
        if query.get("offset") == "0":
            for post_id in deleted:
                wp.objects["posts"].pop(post_id, None)

    wp.after_list = delete_three
    read = [item["id"] async for item in make_client().posts()]
    assert read == made  # every post once (the three deleted ones were read before they went)
    offsets = [c["query"]["offset"] for c in wp.rest_calls("/wp/v2/posts")]
    # 99 now starts past the last post read: one step back, then on from the last post read.
    assert offsets == ["0", "99", "0", "99", "198"]


async def test_a_list_that_shrank_below_the_next_offset_is_read_to_its_end(
    make_client: MakeClient, wp: FakeWordPress
) -> None:
    made = [wp.add_post(title=f"Post {n}")["id"] for n in range(150)]

    def delete_sixty(route: str, query: dict[str, str]) -> None:
        if query.get("offset") == "0" and len(wp.objects["posts"]) == 150:
            for post_id in made[:60]:  # 90 left: the next offset (99) is past the end
                del wp.objects["posts"][post_id]

    wp.after_list = delete_sixty
    pages = [page async for page in make_client().pages("/wp/v2/posts")]
    assert [len(p.items) for p in pages] == [100, 50]
    assert [item["id"] for item in pages[1].items] == made[100:]


async def test_items_added_while_paging_are_read_at_the_end(make_client: MakeClient, wp: FakeWordPress) -> None:
    made = [wp.add_post(title=f"Post {n}")["id"] for n in range(120)]
    added: list[int] = []

    def add_one(route: str, query: dict[str, str]) -> None:
        if query.get("offset") == "0":
            added.append(wp.add_post(title="Written meanwhile")["id"])

    wp.after_list = add_one
    read = [item["id"] async for item in make_client().posts()]
    assert read == made + added


async def test_a_cursor_goes_on_from_where_it_stood(make_client: MakeClient, wp: FakeWordPress) -> None:
    made = [wp.add_post(title=f"Post {n}")["id"] for n in range(150)]
    first = await make_client().page_after("/wp/v2/posts")
    assert first.next == ListCursor(after=made[99], offset=99, first=made[0])
    # As a job's checkpoint keeps it, and back: the read goes on from there.
    resumed = ListCursor.of(first.next.as_dict() if first.next else None)
    second = await make_client().page_after("/wp/v2/posts", cursor=resumed, page=2)
    assert [item["id"] for item in second.items] == made[100:] and second.next is None
    for stored in (None, "x", {"after": -1, "offset": 0}, {"after": 1}, {"after": True, "offset": "2"}):
        assert ListCursor.of(stored) == ListCursor()
    assert ListCursor.of({"after": 3, "offset": 2, "first": "x"}) == ListCursor()
    assert ListCursor.of({"after": 3, "offset": 2}) == ListCursor(3, 2, 0)  # kept before `first` was


async def test_old_posts_entering_the_window_mid_read_dont_stop_it(make_client: MakeClient, wp: FakeWordPress) -> None:
    """Posts edited while a `modified_after` read goes on enter the list before the cursor's place:
    a page may then hold only posts read already (or older), and the read goes on past them."""
    old = [wp.add_post(title=f"Old {n}", modified_gmt=OLD_DATE)["id"] for n in range(150)]
    recent = [wp.add_post(title=f"Recent {n}")["id"] for n in range(150)]
    window = {"modified_after": "2026-01-01T00:00:00", "status": "any"}

    def edit_the_old_ones(route: str, query: dict[str, str]) -> None:
        if query.get("offset") == "0":
            for post_id in old:
                wp.touch("posts", post_id)

    wp.after_list = edit_the_old_ones
    pages = [page async for page in make_client().pages("/wp/v2/posts", window)]
    read = [item["id"] for page in pages for item in page.items]
    assert read == recent  # every post of the window when the read began, once
    # 150 old posts now come first: the second page holds only those, the third reaches past them.
    assert [len(p.items) for p in pages] == [100, 0, 48, 2]


async def test_a_wordpress_that_ignores_offset_fails_the_read(make_client: MakeClient, wp: FakeWordPress) -> None:
    for n in range(250):
        wp.add_post(title=f"Post {n}")
    wp.honours_offset = False
    with pytest.raises(WordPressError, match="may not support `offset`"):
        [page async for page in make_client().pages("/wp/v2/posts")]


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ([{"id": 2}, {"id": 1}], "out of id order"),
        ([{"id": 1}, {"id": 1}], "out of id order"),
        ([{"id": 1}, {"title": "no id"}], "without an id"),
        ([{"id": 1}, "x"], "other than a list"),
        ({"id": 1}, "other than a list"),
    ],
)
async def test_a_list_answer_that_cant_be_paged_by_id_fails(
    make_client: MakeClient, wp: FakeWordPress, answer: Any, message: str
) -> None:
    wp.always("answer", status=200, body=answer)
    with pytest.raises(WordPressError, match=message):
        await make_client(api_style="wp-json").page_after("/wp/v2/posts")


# --- the rest of the API ---


async def test_media_is_uploaded_with_its_filename_and_alt_text(make_client: MakeClient, wp: FakeWordPress) -> None:
    png = make_png()
    media = await make_client().upload_media('My "cat" photo.png', png, "image/png", alt_text="A cat")
    assert media["alt_text"] == "A cat" and media["source_url"].endswith("/My-cat-photo.png")
    assert wp.files[media["id"]] == png
    upload = wp.rest_calls("/wp/v2/media", "POST")[0]
    assert upload["body"] == png


async def test_types_and_taxonomies(make_client: MakeClient) -> None:
    client = make_client()
    types = await client.types()
    taxonomies = await client.taxonomies()
    assert types["post"]["rest_base"] == "posts" and types["page"]["hierarchical"] is True
    assert taxonomies["category"]["types"] == ["post"] and taxonomies["post_tag"]["rest_base"] == "tags"


async def test_posts_are_created_updated_and_read_back(make_client: MakeClient) -> None:
    client = make_client()
    category = await client.create("categories", {"name": "Animals"})
    post = await client.create("posts", {"title": "Otters", "status": "publish", "categories": [category["id"]]})
    await client.update("posts", post["id"], {"title": "Sea otters"})
    read = await client.get_object("posts", post["id"], context="edit")
    assert read["title"]["raw"] == "Sea otters" and read["categories"] == [category["id"]]
    assert [p["id"] async for p in client.posts(categories=category["id"])] == [post["id"]]


def test_filenames_are_made_safe_for_content_disposition() -> None:
    assert safe_filename('../a "b"/évé né.JPG') == "v-n.JPG"
    assert safe_filename("no extension") == "no-extension"
    assert safe_filename('"";.png') == "upload.png"
