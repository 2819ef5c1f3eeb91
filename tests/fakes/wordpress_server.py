"""A fake WordPress REST API for tests and local development: a real aiohttp server on loopback.

It answers as WordPress 6.1 does — status codes, error bodies ``{code, message, data: {status}}``,
headers (``X-WP-Total``, ``X-WP-TotalPages``, ``Link``), lists by ``page`` or ``offset`` and in id
order (``orderby=id``) — as recorded from the real one started by
../shared/wp/wp_up.sh (the answers are quoted in the handlers). The real one is tested too; this
one exists for what it can't be made to do::

    async with FakeWordPress() as wp:
        client = WordPressClient(session, wp.base_url, wp.username, wp.app_password)

Routes, under ``/wp-json/…`` (pretty permalinks) and ``/?rest_route=/…`` (always): the index ``/``,
``/wp/v2/users/me``, ``posts``, ``pages``, ``media`` (list, get, create, update, delete; media
created from a raw body named by ``Content-Disposition``), ``categories``, ``tags``, ``types``,
``taxonomies``. Any other route → 404 ``rest_no_route``.

Behaviour switches (attributes): ``pretty_permalinks`` (False: ``/wp-json/…`` answers the home
page, as WordPress does), ``app_passwords`` (False: the index offers none and Basic auth is
ignored, as on plain http outside a ``local`` environment), ``not_wordpress`` (an ordinary web
site), ``paging_headers`` (False: a proxy that strips ``X-WP-*``), ``honours_offset`` (False: lists
ignore ``offset``), ``after_list`` (a callback after each list answer, to change the site mid-read).

Faults: ``fail_next(kind, times=1, **opts)`` queues one-shot faults, consumed one per REST request
in order; ``always(kind, **opts)`` sets one for every request when the queue is empty;
``fail_on(method, route, kind, times=1, **opts)`` aims one at a route (e.g. the create of a post
while publishing), ahead of the others; ``reset_faults()`` clears them all. Kinds: ``slow``
(``seconds``, then the normal answer), ``500`` (WordPress's fatal-error answer), ``503``,
``429`` (``retry_after``), ``drop`` (the connection is closed before any answer),
``drop_after_write`` (the request is carried out, then the connection is closed: the write
happened but its answer is lost), ``slow_after_write`` (``seconds``: the
request is carried out, then the answer waits, so a client times out after the write), ``html``
(200 with an HTML page, as a captive proxy answers), ``answer`` (``body``, ``status``: any JSON).

SEO plugins: ``seo_plugins`` (``{"yoast", "rankmath"}``) adds their namespaces to the index and
Rank Math's ``POST /rankmath/v1/updateMeta`` (its meta kept in ``rank_math_meta``).

Standalone: ``python -m tests.fakes.wordpress_server --port 8090`` (Ctrl-C to stop).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import copy
import inspect
import itertools
import json
import math
import re
import signal
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

__all__ = ["FAULT_KINDS", "FakeWordPress", "main"]

SEO_NAMESPACES = {"yoast": "yoast/v1", "rankmath": "rankmath/v1"}
FAULT_KINDS = frozenset({"slow", "500", "503", "429", "drop", "drop_after_write", "slow_after_write", "html", "answer"})
DEFAULT_USERNAME = "admin"
# What `after_list` answered for a request: awaited before the answer goes when a coroutine.
AFTER_LIST = web.RequestKey("after_list", object)
OLD_DATE = "2025-01-01T00:00:00"  # add_many: content last edited long before any sync
DEFAULT_APP_PASSWORD = "abcd EFGH ijkl MNOP qrst UVWX"
JSON_TYPE = "application/json; charset=UTF-8"
HOME_PAGE = (
    '<!DOCTYPE html>\n<html lang="en-US">\n<head>\n\t<meta charset="UTF-8" />\n<title>{name}</title>\n</head>\n'
    "<body><p>{name}</p></body>\n</html>\n"
)
# Types WordPress lets an administrator upload (a subset of get_allowed_mime_types()).
UPLOAD_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf"})
_CAPABILITY_NAMES = (
    "switch_themes edit_themes activate_plugins edit_plugins edit_users edit_files manage_options moderate_comments "
    "manage_categories manage_links upload_files import unfiltered_html edit_posts edit_others_posts "
    "edit_published_posts publish_posts edit_pages read delete_posts delete_others_posts delete_published_posts "
    "publish_pages edit_others_pages edit_published_pages delete_pages delete_others_pages delete_published_pages "
    "list_users create_users delete_users"
)
CAPABILITIES = tuple(_CAPABILITY_NAMES.split())


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "untitled"


def _normalise_password(password: str) -> str:
    return re.sub(r"[^a-z\d]", "", password, flags=re.IGNORECASE)  # as WordPress does


class FakeWordPress:
    """A fake WordPress site on a real loopback server. See the module docstring."""

    def __init__(
        self, username: str = DEFAULT_USERNAME, app_password: str = DEFAULT_APP_PASSWORD, *, name: str = "Fake WP"
    ) -> None:
        self.username = username
        self.app_password = app_password
        self.name = name
        self.pretty_permalinks = True
        self.app_passwords = True
        self.not_wordpress = False
        self.paging_headers = True
        self.honours_offset = True  # False: lists ignore `offset` (a WordPress that can't be paged by it)
        # Called after each list answer with its route and query, e.g. to delete posts mid-read; an
        # async callback is awaited before the answer goes (WordPress changed while it was read).
        self.after_list: Callable[[str, dict[str, str]], Any] | None = None
        # The address WordPress gives itself (`home` in its index); None: the one it is reached at.
        self.home: str | None = None
        self.calls: list[dict[str, Any]] = []
        self.files: dict[int, bytes] = {}
        # Posts, pages and media share WordPress's posts table (one id sequence); terms have theirs.
        self.objects: dict[str, dict[int, dict[str, Any]]] = {"posts": {}, "pages": {}, "media": {}}
        self.terms: dict[str, dict[int, dict[str, Any]]] = {"categories": {}, "tags": {}}
        self._post_ids = itertools.count(1)
        self._term_ids = itertools.count(1)
        self.add_term("categories", "Uncategorized", slug="uncategorized")
        self._faults: list[tuple[str, dict[str, Any]]] = []
        self._persistent: tuple[str, dict[str, Any]] | None = None
        # Faults aimed at one route (the publish paths): see `fail_on`.
        self._route_faults: list[list[Any]] = []
        # SEO plugins the site has ("yoast", "rankmath"): their namespaces and Rank Math's route.
        self.seo_plugins: set[str] = set()
        self.rank_math_meta: dict[int, dict[str, Any]] = {}
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._stopping = asyncio.Event()

    # --- lifecycle ---

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        if self._runner is not None:
            raise RuntimeError("FakeWordPress is already running")
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=1.0, access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._stopping = asyncio.Event()
        self._runner = runner
        self._port = runner.addresses[0][1]

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            self._stopping.set()
            await runner.cleanup()

    async def __aenter__(self) -> FakeWordPress:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("FakeWordPress is not started")
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # --- faults and inspection ---

    def fail_next(self, kind: str, times: int = 1, **opts: Any) -> None:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; kinds: {sorted(FAULT_KINDS)}")
        self._faults.extend([(kind, opts)] * times)

    def always(self, kind: str, **opts: Any) -> None:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; kinds: {sorted(FAULT_KINDS)}")
        self._persistent = (kind, opts)

    def reset_faults(self) -> None:
        self._faults.clear()
        self._persistent = None
        self._outage_countdown = -1
        self._route_faults.clear()

    def rest_calls(self, route: str | None = None, method: str | None = None) -> list[dict[str, Any]]:
        """Recorded REST requests, optionally only those to `route` (exact) and/or with `method`."""
        return [
            call
            for call in self.calls
            if call["route"] is not None
            and (route is None or call["route"] == route)
            and (method is None or call["method"] == method)
        ]

    # --- sync: bulk content and an outage mid-sync ---

    def add_many(self, *, posts: int = 0, pages: int = 0, categories: int = 0, tags: int = 0) -> None:
        """A big site for sync tests and the benchmark: numbered posts, pages and terms; every
        fifth category is a child of the one before it, each post names one category and two tags."""
        category_ids = [self.add_term("categories", f"Category {n}", parent=0)["id"] for n in range(1, categories + 1)]
        for n, term_id in enumerate(category_ids):
            if n % 5 == 4:
                self.terms["categories"][term_id]["parent"] = category_ids[n - 1]
        tag_ids = [self.add_term("tags", f"Tag {n}")["id"] for n in range(1, tags + 1)]
        for n in range(1, posts + 1):
            self.add_post(
                "posts",
                title=f"Post {n}",
                slug=f"post-{n}",
                content=f"<p>Body of post {n}.</p>",
                modified_gmt=OLD_DATE,
                categories=[category_ids[n % len(category_ids)]] if category_ids else [1],
                tags=[tag_ids[n % len(tag_ids)], tag_ids[(n + 7) % len(tag_ids)]] if len(tag_ids) > 1 else [],
            )
        for n in range(1, pages + 1):
            self.add_post(
                "pages", title=f"Page {n}", slug=f"page-{n}", content=f"<p>Page {n}.</p>", modified_gmt=OLD_DATE
            )

    def outage_after(self, requests: int) -> None:
        """WordPress goes down mid-sync: after `requests` more REST requests, every one is a 500
        (WordPress's fatal-error answer) until `reset_faults()` or `outage_after(-1)`."""
        self._outage_countdown = requests

    def touch(self, collection: str, object_id: int, **fields: Any) -> dict[str, Any]:
        """Edit a post or page as WordPress's editor would: new fields and a later `modified_gmt`."""
        post = self.objects[collection][object_id]
        for name in ("title", "content"):
            if name in fields:
                value = fields.pop(name)
                post[name] = {**post[name], "raw": value, "rendered": value}
        post.update(fields)
        later = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")
        post["modified"] = post["modified_gmt"] = max(later, post["modified_gmt"])
        return post

    def _sync_outage(self) -> tuple[str, dict[str, Any]] | None:
        countdown = getattr(self, "_outage_countdown", -1)
        if countdown < 0:
            return None
        if countdown == 0:
            return ("500", {})
        self._outage_countdown = countdown - 1
        return None

    # --- content builders ---

    def add_post(self, collection: str = "posts", **fields: Any) -> dict[str, Any]:
        """Store a post or page as if created in WordPress; returns the stored object."""
        object_id = next(self._post_ids)
        title = fields.pop("title", f"Post {object_id}")
        content = fields.pop("content", "")
        now = fields.pop("modified_gmt", None) or _now()
        post = {
            "id": object_id,
            "date": now,
            "date_gmt": now,
            "modified": now,
            "modified_gmt": now,
            "slug": fields.pop("slug", None) or _slugify(title),
            "status": fields.pop("status", "publish"),
            "type": "post" if collection == "posts" else "page",
            "title": {"raw": title, "rendered": title},
            "content": {"raw": content, "rendered": content, "protected": False, "block_version": 0},
            "excerpt": {"raw": fields.pop("excerpt", ""), "rendered": "", "protected": False},
            "author": 1,
            "featured_media": fields.pop("featured_media", 0),
            "parent": fields.pop("parent", 0),
            "meta": fields.pop("meta", []),
        }
        if collection == "posts":
            post["categories"] = fields.pop("categories", [1])
            post["tags"] = fields.pop("tags", [])
            post.pop("parent")
        post.update(fields)
        post["link"] = f"{self.base_url if self._port else ''}/{post['slug']}/"
        self.objects[collection][object_id] = post
        return post

    def add_term(self, taxonomy: str, name: str, **fields: Any) -> dict[str, Any]:
        term_id = next(self._term_ids)
        term = {
            "id": term_id,
            "count": 0,
            "description": fields.pop("description", ""),
            "link": "",
            "name": name,
            "slug": fields.pop("slug", None) or _slugify(name),
            "taxonomy": "category" if taxonomy == "categories" else "post_tag",
            "meta": [],
        }
        if taxonomy == "categories":
            term["parent"] = fields.pop("parent", 0)
        term.update(fields)
        self.terms[taxonomy][term_id] = term
        return term

    # --- HTTP ---

    def _headers(self, request: web.Request, allow: str = "GET") -> dict[str, str]:
        root = f"{request.scheme}://{request.host}"
        api = f"{root}/wp-json/" if self.pretty_permalinks else f"{root}/index.php?rest_route=/"
        return {
            "Link": f'<{api}>; rel="https://api.w.org/"',
            "X-Content-Type-Options": "nosniff",
            "Access-Control-Expose-Headers": "X-WP-Total, X-WP-TotalPages, Link",
            "Allow": allow,
        }

    def _home(self, request: web.Request, status: int = 200) -> web.Response:
        return web.Response(
            status=status,
            text=HOME_PAGE.format(name=self.name),
            content_type="text/html",
            charset="UTF-8",
            headers=self._headers(request) if not self.not_wordpress else None,
        )

    def _json(self, request: web.Request, body: Any, status: int = 200, **headers: str) -> web.Response:
        return web.Response(
            status=status,
            text=json.dumps(body),
            headers={"Content-Type": JSON_TYPE, **self._headers(request), **headers},
        )

    def _error(self, request: web.Request, status: int, code: str, message: str, **data: Any) -> web.Response:
        return self._json(request, {"code": code, "message": message, "data": {"status": status, **data}}, status)

    def _route(self, request: web.Request) -> str | None:
        """The REST route a request asks for, or None when it isn't a REST request."""
        if "rest_route" in request.query and request.path in ("/", "/index.php"):
            return request.query["rest_route"] or "/"
        if request.path == "/wp-json" or request.path.startswith("/wp-json/"):
            return request.path[len("/wp-json") :] or "/"
        return None

    def _authenticated(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        if not self.app_passwords or not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        return user == self.username and _normalise_password(password) == _normalise_password(self.app_password)

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        route = self._route(request)
        body = await request.read()
        self.calls.append(
            {"method": request.method, "path": request.path, "route": route, "query": dict(request.query), "body": body}
        )
        if self.not_wordpress:
            return self._home(request) if request.path == "/" else web.Response(status=404, text="Not Found")
        if route is None:
            return self._home(request) if request.path == "/" else self._home(request, 404)
        if request.path.startswith("/wp-json") and not self.pretty_permalinks:
            # Recorded: GET /wp-json/wp/v2/users/me → 301 to …/me/; …/me/ and any POST → 200 home page.
            if request.method == "GET" and not request.path.endswith("/"):
                raise web.HTTPMovedPermanently(f"{request.path}/", headers={"X-Redirect-By": "WordPress"})
            return self._home(request)
        fault = self._route_fault(request.method, route)
        if fault is None:
            fault = self._faults.pop(0) if self._faults else self._persistent
        if fault is None:
            fault = self._sync_outage()
        if fault is not None:
            kind, opts = fault
            if kind == "slow":
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), opts.get("seconds", 5.0))
            elif kind == "drop":
                return self._drop(request)
            elif kind not in ("drop_after_write", "slow_after_write"):
                return self._fault_response(request, kind, opts)
        response = self._handle(request, route, body)
        if inspect.isawaitable(pending := request.get(AFTER_LIST)):
            await pending
        if fault is not None and fault[0] == "drop_after_write":
            return self._drop(request)
        if fault is not None and fault[0] == "slow_after_write":
            await self._after_write_delay(fault[1])
        return response

    def _drop(self, request: web.Request) -> web.StreamResponse:
        if request.transport is not None:
            request.transport.close()
        # Writing to the closed transport fails and aiohttp ignores it as a client disconnection.
        return web.Response(text="")

    def _fault_response(self, request: web.Request, kind: str, opts: dict[str, Any]) -> web.Response:
        headers = opts.get("headers", {})
        if kind == "429":
            # WordPress itself never rate-limits; hosts and WAFs in front of it answer like this.
            retry = {"Retry-After": str(opts["retry_after"])} if opts.get("retry_after") is not None else {}
            return web.Response(status=429, text="Too Many Requests", headers={**retry, **headers})
        if kind == "503":
            return web.Response(status=503, text="Service Unavailable", headers=headers)
        if kind == "html":
            return web.Response(text="<html><body>Please log in to the network</body></html>", content_type="text/html")
        if kind == "answer":  # any JSON body, e.g. a list WordPress would never give
            return self._json(request, opts["body"], opts.get("status", 200))
        # WordPress's fatal-error handler answers a REST request with this (WP_Fatal_Error_Handler).
        return self._json(
            request,
            {
                "code": "internal_server_error",
                "message": "<p>There has been a critical error on this website.</p>",
                "data": {"status": 500},
                "additional_errors": [],
            },
            500,
        )

    def _handle(self, request: web.Request, route: str, body: bytes) -> web.Response:
        auth = self._authenticated(request)
        route = route.rstrip("/") or "/"
        method = request.method
        if route == "/" and method == "GET":
            return self._json(request, self._index(request))
        if route.startswith("/rankmath/") and "rankmath" in self.seo_plugins:
            return self._rank_math(request, route, body, auth)
        if route == "/wp/v2/users/me" and method == "GET":
            if not auth:
                return self._error(request, 401, "rest_not_logged_in", "You are not currently logged in.")
            return self._json(request, self._me(request))
        if route in ("/wp/v2/types", "/wp/v2/taxonomies") and method == "GET":
            if request.query.get("context") == "edit" and not auth:
                what = "edit posts in this post type" if route.endswith("types") else "manage terms in this taxonomy"
                return self._error(request, 401, "rest_cannot_view", f"Sorry, you are not allowed to {what}.")
            return self._json(request, TYPES if route.endswith("types") else TAXONOMIES)
        match = re.fullmatch(r"/wp/v2/(posts|pages|media|categories|tags)(?:/(\d+))?", route)
        if match is None:
            return self._error(request, 404, "rest_no_route", "No route was found matching the URL and request method.")
        collection, object_id = match.group(1), int(match.group(2)) if match.group(2) else None
        payload: dict[str, Any] = {}
        if body and request.content_type == "application/json":
            try:
                loaded = json.loads(body)
            except ValueError:
                return self._error(request, 400, "rest_invalid_json", "Invalid JSON body passed.")
            payload = loaded if isinstance(loaded, dict) else {}
        if collection in self.terms:
            return self._terms(request, collection, object_id, payload, auth)
        if collection == "media" and method == "POST" and object_id is None:
            return self._upload(request, body, auth)
        return self._posts(request, collection, object_id, payload, auth)

    # --- bodies ---

    def _index(self, request: web.Request) -> dict[str, Any]:
        root = f"{request.scheme}://{request.host}"
        api = f"{root}/wp-json/" if self.pretty_permalinks else f"{root}/index.php?rest_route=/"
        authentication: dict[str, Any] = {}
        if self.app_passwords:
            authentication["application-passwords"] = {
                "endpoints": {"authorization": f"{root}/wp-admin/authorize-application.php"}
            }
        return {
            "name": self.name,
            "description": "",
            "url": self.home or root,
            "home": self.home or root,
            "gmt_offset": "0",
            "timezone_string": "",
            "namespaces": ["oembed/1.0", "wp/v2", "wp-site-health/v1", "wp-block-editor/v1", *self._seo_namespaces()],
            "authentication": authentication,
            "routes": {},
            "site_logo": 0,
            "site_icon": 0,
            "site_icon_url": "",
            "_links": {"help": [{"href": "https://developer.wordpress.org/rest-api/"}], "self": [{"href": api}]},
        }

    def _me(self, request: web.Request) -> dict[str, Any]:
        root = f"{request.scheme}://{request.host}"
        return {
            "id": 1,
            "username": self.username,
            "name": self.username,
            "first_name": "",
            "last_name": "",
            "email": f"{self.username}@example.com",
            "url": root,
            "description": "",
            "link": f"{root}/author/{self.username}/",
            "locale": "en_US",
            "nickname": self.username,
            "slug": self.username,
            "roles": ["administrator"],
            "registered_date": "2026-01-01T00:00:00+00:00",
            "capabilities": {cap: True for cap in CAPABILITIES} | {"administrator": True},
            "extra_capabilities": {"administrator": True},
            "avatar_urls": {},
            "meta": [],
        }

    def _page_params(self, request: web.Request) -> tuple[int, int, int | None] | web.Response:
        try:
            per_page = int(request.query.get("per_page", "10"))
            page = int(request.query.get("page", "1"))
            offset = int(request.query["offset"]) if "offset" in request.query else None
        except ValueError:
            per_page, page, offset = 0, 0, None
        if not 1 <= per_page <= 100:
            message = "per_page must be between 1 (inclusive) and 100 (inclusive)"
            return self._json(
                request,
                {
                    "code": "rest_invalid_param",
                    "message": "Invalid parameter(s): per_page",
                    "data": {
                        "status": 400,
                        "params": {"per_page": message},
                        "details": {"per_page": {"code": "rest_out_of_bounds", "message": message, "data": None}},
                    },
                },
                400,
            )
        if page < 1 or (offset is not None and offset < 0):
            return self._error(request, 400, "rest_invalid_param", "Invalid parameter(s): page")
        return per_page, page, offset

    def _list(
        self,
        request: web.Request,
        items: list[dict[str, Any]],
        posts_table: bool,
        view: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    ) -> web.Response:
        paging = self._page_params(request)
        if isinstance(paging, web.Response):
            return paging
        per_page, page, offset = paging
        if not self.honours_offset:
            offset = None
        total = len(items)
        start = (page - 1) * per_page if offset is None else offset  # `offset` overrides `page`
        if posts_table and offset is not None and start >= total:
            total = 0  # WP_Query counts the rows only when it found some
        total_pages = math.ceil(total / per_page)
        if posts_table and page > total_pages and total > 0:
            return self._error(
                request,
                400,
                "rest_post_invalid_page_number",
                "The page number requested is larger than the number of pages available.",
            )
        window = items[start : start + per_page]
        window = _only_fields(request, [view(item) for item in window] if view is not None else window)
        headers: dict[str, str] = {}
        if self.paging_headers:
            headers = {"X-WP-Total": str(total), "X-WP-TotalPages": str(total_pages)}
            links = []
            if page > 1:
                links.append(f'<{request.url.update_query(page=page - 1)}>; rel="prev"')
            if page < total_pages:
                links.append(f'<{request.url.update_query(page=page + 1)}>; rel="next"')
            if links:
                headers["Link"] = ", ".join(links)
        response = self._json(request, window, **headers)
        if "Link" in headers:  # WordPress sends both Link headers
            response.headers.add("Link", self._headers(request)["Link"])
        if self.after_list is not None:
            # A coroutine (an async callback) is awaited before the answer goes: see `_dispatch`.
            request[AFTER_LIST] = self.after_list(self._route(request) or "", dict(request.query))
        return response

    def _posts(
        self, request: web.Request, collection: str, object_id: int | None, payload: dict[str, Any], auth: bool
    ) -> web.Response:
        store = self.objects[collection]
        noun = "post"
        method = request.method
        edit = request.query.get("context") == "edit"
        if edit and not auth:
            return self._error(
                request, 401, "rest_forbidden_context", "Sorry, you are not allowed to edit posts in this post type."
            )
        if object_id is None and method == "GET":
            default = "inherit" if collection == "media" else "publish"
            statuses = request.query.get("status", default).split(",")
            if not auth and any(status not in ("publish", "inherit") for status in statuses):
                return self._forbidden_status(request)
            # `any` is every status but trash and auto-draft (WordPress's exclude_from_search ones).
            items = [
                p
                for p in store.values()
                if ("any" in statuses and p["status"] not in ("trash", "auto-draft")) or p["status"] in statuses
            ]
            items = _ordered(request, self._filter_posts(request, items))
            return self._list(request, items, posts_table=True, view=lambda p: self._view(p, edit))
        if object_id is None and method == "POST":
            if not auth:
                return self._error(
                    request, 401, "rest_cannot_create", f"Sorry, you are not allowed to create {noun}s as this user."
                )
            post = self.add_post(collection, **self._post_fields(payload, creating=True))
            location = f"{request.scheme}://{request.host}/wp-json/wp/v2/{collection}/{post['id']}"
            return self._json(request, self._view(post, True), 201, Location=location)
        post = store.get(object_id) if object_id is not None else None
        if post is None or (post["status"] not in ("publish", "inherit") and not auth):
            return self._error(request, 404, "rest_post_invalid_id", "Invalid post ID.")
        if method == "GET":
            return self._json(request, self._view(post, edit))
        if not auth:
            return self._error(request, 401, "rest_cannot_edit", f"Sorry, you are not allowed to edit this {noun}.")
        if method in ("POST", "PUT", "PATCH"):
            post.update(self._post_fields(payload, creating=False, existing=post))
            post["modified"] = post["modified_gmt"] = _now()
            return self._json(request, self._view(post, True))
        if method == "DELETE":
            if request.query.get("force") in ("true", "1") or collection == "media":
                del store[post["id"]]
                self.files.pop(post["id"], None)
                return self._json(request, {"deleted": True, "previous": self._view(post, True)})
            post["status"] = "trash"
            return self._json(request, self._view(post, True))
        return self._error(request, 404, "rest_no_route", "No route was found matching the URL and request method.")

    def _forbidden_status(self, request: web.Request) -> web.Response:
        # Recorded: an anonymous posts?status=draft is a 400 whose detail carries the 401.
        return self._json(
            request,
            {
                "code": "rest_invalid_param",
                "message": "Invalid parameter(s): status",
                "data": {
                    "status": 400,
                    "params": {"status": "Status is forbidden."},
                    "details": {
                        "status": {
                            "code": "rest_forbidden_status",
                            "message": "Status is forbidden.",
                            "data": {"status": 401},
                        }
                    },
                },
            },
            400,
        )

    def _filter_posts(self, request: web.Request, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        query = request.query
        if "modified_after" in query:
            items = [p for p in items if p["modified_gmt"] > query["modified_after"][:19]]
        if "slug" in query:
            slugs = query["slug"].split(",")
            items = [p for p in items if p["slug"] in slugs]
        if "search" in query:
            text = query["search"].lower()
            items = [p for p in items if text in p["title"]["raw"].lower() or text in p["content"]["raw"].lower()]
        if "include" in query:
            ids = {int(i) for i in query["include"].split(",") if i.isdigit()}
            items = [p for p in items if p["id"] in ids]
        for taxonomy in ("categories", "tags"):
            if taxonomy in query:
                ids = {int(i) for i in query[taxonomy].split(",") if i.isdigit()}
                items = [p for p in items if ids & set(p.get(taxonomy, []))]
        return items

    def _post_fields(
        self, payload: dict[str, Any], *, creating: bool, existing: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        for name in ("status", "slug", "featured_media", "categories", "tags", "meta", "parent", "alt_text"):
            if name in payload:
                fields[name] = payload[name]
        if creating:
            fields.setdefault("status", "draft")
            fields["title"] = payload.get("title", "")
            fields["content"] = payload.get("content", "")
            return fields
        for name in ("title", "content", "excerpt", "caption", "description"):
            if name in payload and existing is not None:
                value = payload[name]
                fields[name] = {**existing.get(name, {}), "raw": value, "rendered": value}
        return fields

    def _view(self, post: dict[str, Any], edit: bool) -> dict[str, Any]:
        shown = copy.deepcopy(post)
        if not edit:
            for field in ("title", "content", "excerpt", "guid", "caption", "description"):
                if isinstance(shown.get(field), dict):
                    shown[field].pop("raw", None)
        return shown

    def _upload(self, request: web.Request, body: bytes, auth: bool) -> web.Response:
        if not auth:
            return self._error(
                request, 401, "rest_cannot_create", "Sorry, you are not allowed to create posts as this user."
            )
        if not body:
            return self._error(request, 400, "rest_upload_no_data", "No data supplied.")
        disposition = request.headers.get("Content-Disposition", "")
        match = re.search(r'filename="?([^";]+)"?', disposition)
        if match is None:
            return self._error(request, 400, "rest_upload_no_content_disposition", "No Content-Disposition supplied.")
        filename = match.group(1)
        if request.content_type not in UPLOAD_TYPES:
            return self._error(
                request, 500, "rest_upload_sideload_error", "Sorry, you are not allowed to upload this file type."
            )
        root = f"{request.scheme}://{request.host}"
        now = datetime.now(UTC)
        source_url = f"{root}/wp-content/uploads/{now:%Y/%m}/{filename}"
        stem = filename.rsplit(".", 1)[0]
        media = self.add_post(
            "media",
            title=stem,
            slug=_slugify(stem),
            status="inherit",
            type="attachment",
            guid={"rendered": source_url, "raw": source_url},
            alt_text="",
            caption={"raw": "", "rendered": ""},
            description={"raw": "", "rendered": ""},
            media_type="image" if request.content_type.startswith("image/") else "file",
            mime_type=request.content_type,
            post=None,
            source_url=source_url,
        )
        for field in ("excerpt", "featured_media", "parent"):
            media.pop(field, None)
        self.files[media["id"]] = body
        headers = {
            "X-WP-Upload-Attachment-ID": str(media["id"]),
            "Location": f"{root}/wp-json/wp/v2/media/{media['id']}",
        }
        return self._json(request, self._view(media, True), 201, **headers)

    def _terms(
        self, request: web.Request, taxonomy: str, term_id: int | None, payload: dict[str, Any], auth: bool
    ) -> web.Response:
        store = self.terms[taxonomy]
        method = request.method
        if request.query.get("context") == "edit" and not auth:
            return self._error(
                request, 401, "rest_forbidden_context", "Sorry, you are not allowed to edit terms in this taxonomy."
            )
        if term_id is None and method == "GET":
            query = request.query
            if query.get("orderby") == "id":
                items = sorted(store.values(), key=lambda t: t["id"], reverse=query.get("order") == "desc")
            else:
                items = sorted(store.values(), key=lambda t: (t["name"].lower(), t["id"]))
            if "search" in query:
                items = [t for t in items if query["search"].lower() in t["name"].lower()]
            if "slug" in query:
                items = [t for t in items if t["slug"] in query["slug"].split(",")]
            if "parent" in query and query["parent"].isdigit():
                items = [t for t in items if t.get("parent") == int(query["parent"])]
            if query.get("hide_empty") in ("true", "1"):
                items = [t for t in items if t["count"] > 0]
            return self._list(request, [dict(t) for t in items], posts_table=False)
        if term_id is None and method == "POST":
            if not auth:
                return self._error(
                    request, 401, "rest_cannot_create", "Sorry, you are not allowed to create terms in this taxonomy."
                )
            name = payload.get("name")
            if not isinstance(name, str) or not name.strip():
                return self._error(request, 400, "rest_missing_callback_param", "Missing parameter(s): name")
            parent = int(payload.get("parent") or 0)
            for term in store.values():
                if term["name"].lower() == name.strip().lower() and term.get("parent", 0) == parent:
                    # Recorded: a duplicate name → 400 term_exists naming the existing term.
                    body = {
                        "code": "term_exists",
                        "message": (
                            "A term with the name provided already exists with this parent."
                            if taxonomy == "categories"
                            else "A term with the name provided already exists in this taxonomy."
                        ),
                        "data": {"status": 400, "term_id": term["id"]},
                        "additional_data": [term["id"], term["id"]],
                    }
                    return self._json(request, body, 400)
            fields = {k: payload[k] for k in ("slug", "description") if k in payload}
            if taxonomy == "categories":
                fields["parent"] = parent
            term = self.add_term(taxonomy, name.strip(), **fields)
            location = f"{request.scheme}://{request.host}/wp-json/wp/v2/{taxonomy}/{term['id']}"
            return self._json(request, dict(term), 201, Location=location)
        term = store.get(term_id) if term_id is not None else None
        if term is None:
            return self._error(request, 404, "rest_term_invalid", "Term does not exist.")
        if method == "GET":
            return self._json(request, dict(term))
        if not auth:
            return self._error(request, 401, "rest_cannot_update", "Sorry, you are not allowed to edit this term.")
        if method == "DELETE":
            if request.query.get("force") not in ("true", "1"):
                return self._error(
                    request,
                    501,
                    "rest_trash_not_supported",
                    "Terms do not support trashing. Set 'force=true' to delete.",
                )
            del store[term["id"]]
            return self._json(request, {"deleted": True, "previous": dict(term)})
        term.update({k: payload[k] for k in ("name", "slug", "description", "parent") if k in payload})
        return self._json(request, dict(term))

    # --- publish paths: faults aimed at one route, and the SEO plugins' routes ---
    # Publishing makes several requests (lookups, media, terms, the post); these let a test break
    # exactly one of them, e.g. `fail_on("POST", "/wp/v2/posts", "drop_after_write")`.

    def fail_on(self, method: str, route: str, kind: str, times: int = 1, **opts: Any) -> None:
        """Queue `kind` for the next `times` requests `method route` (route: a regular expression
        matched against the whole REST route, e.g. ``/wp/v2/posts`` or ``/wp/v2/media(/\\d+)?``).
        Kinds as `fail_next`, plus ``slow_after_write`` (``seconds``): the request is carried out,
        then its answer waits — a client that times out never learns the write happened."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; kinds: {sorted(FAULT_KINDS)}")
        self._route_faults.append([method.upper(), re.compile(route), kind, opts, times])

    def _route_fault(self, method: str, route: str) -> tuple[str, dict[str, Any]] | None:
        for entry in self._route_faults:
            wanted_method, pattern, kind, opts, left = entry
            if left > 0 and method == wanted_method and pattern.fullmatch(route.rstrip("/") or "/"):
                entry[4] = left - 1
                return kind, opts
        return None

    async def _after_write_delay(self, opts: dict[str, Any]) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), opts.get("seconds", 5.0))

    def _seo_namespaces(self) -> list[str]:
        return [namespace for plugin, namespace in SEO_NAMESPACES.items() if plugin in self.seo_plugins]

    def _rank_math(self, request: web.Request, route: str, body: bytes, auth: bool) -> web.Response:
        """Rank Math's `POST /rankmath/v1/updateMeta` `{objectType, objectID, meta}`. Not recorded (the
        test WordPress has no Rank Math): modelled on its editor's use — the meta stored on the post
        (in ``rank_math_meta`` by post id, for tests to read) and ``true`` answered; a post that doesn't exist → 404."""
        if route.rstrip("/") != "/rankmath/v1/updateMeta" or request.method != "POST":
            return self._error(request, 404, "rest_no_route", "No route was found matching the URL and request method.")
        if not auth:
            return self._error(request, 401, "rest_forbidden", "Sorry, you are not allowed to do that.")
        payload = json.loads(body or b"{}")
        post = self.objects["posts"].get(int(payload.get("objectID") or 0)) or self.objects["pages"].get(
            int(payload.get("objectID") or 0)
        )
        if post is None:
            return self._error(request, 404, "rest_post_invalid_id", "Invalid post ID.")
        self.rank_math_meta.setdefault(post["id"], {}).update(payload.get("meta") or {})
        return self._json(request, True)


def _ordered(request: web.Request, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`orderby` (date, the default, or id) and `order` (desc, the default, or asc), as WordPress sorts."""
    descending = request.query.get("order", "desc") != "asc"
    if request.query.get("orderby") == "id":
        return sorted(items, key=lambda p: p["id"], reverse=descending)
    return sorted(items, key=lambda p: (p["date_gmt"], p["id"]), reverse=descending)


def _only_fields(request: web.Request, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`_fields=id,slug`: WordPress answers only those top-level fields of each item."""
    wanted = [name for name in request.query.get("_fields", "").split(",") if name]
    if not wanted:
        return items
    return [{name: item[name] for name in wanted if name in item} for item in items]


# Trimmed from the real `types?context=edit` and `taxonomies?context=edit` answers (labels left out).
TYPES: dict[str, Any] = {
    slug: {
        "description": "",
        "hierarchical": hierarchical,
        "has_archive": False,
        "name": name,
        "slug": slug,
        "taxonomies": taxonomies,
        "rest_base": rest_base,
        "rest_namespace": "wp/v2",
        "viewable": viewable,
    }
    for slug, name, rest_base, hierarchical, taxonomies, viewable in (
        ("post", "Posts", "posts", False, ["category", "post_tag"], True),
        ("page", "Pages", "pages", True, [], True),
        ("attachment", "Media", "media", False, [], True),
        ("nav_menu_item", "Navigation Menu Items", "menu-items", False, ["nav_menu"], False),
        ("wp_block", "Reusable blocks", "blocks", False, [], False),
        ("wp_template", "Templates", "templates", False, [], False),
        ("wp_template_part", "Template Parts", "template-parts", False, [], False),
        ("wp_navigation", "Navigation Menus", "navigation", False, [], False),
    )
}
TAXONOMIES: dict[str, Any] = {
    slug: {
        "name": name,
        "slug": slug,
        "description": "",
        "types": types,
        "hierarchical": hierarchical,
        "rest_base": rest_base,
        "rest_namespace": "wp/v2",
    }
    for slug, name, rest_base, hierarchical, types in (
        ("category", "Categories", "categories", True, ["post"]),
        ("post_tag", "Tags", "tags", False, ["post"]),
        ("nav_menu", "Navigation Menus", "menus", False, ["nav_menu_item"]),
    )
}


async def _serve(args: argparse.Namespace) -> None:
    fake = FakeWordPress(args.username, args.app_password)
    fake.pretty_permalinks = not args.no_pretty_permalinks
    await fake.start(args.host, args.port)
    print(f"fake WordPress on {fake.base_url} (user {fake.username!r}, application password {fake.app_password!r})")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await fake.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="A fake WordPress REST API on loopback.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--username", default=DEFAULT_USERNAME)
    parser.add_argument("--app-password", default=DEFAULT_APP_PASSWORD)
    parser.add_argument("--no-pretty-permalinks", action="store_true", help="only ?rest_route= routes")
    asyncio.run(_serve(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
