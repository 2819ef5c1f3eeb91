"""The one WordPress REST API client: Basic auth with an application password, timeouts, retries,
pagination, both URL styles, and errors named in words a site owner understands.

It sends through the process's `Outbound` session, so the private-address rule applies to every
connection and redirect. Answers recorded from WordPress 6.1 (../shared/wp) that shape it:

- A wrong username or application password is not refused as such: WordPress treats the request
  as anonymous, so `users/me` → 401 `rest_not_logged_in`, a create → 401 `rest_cannot_create`,
  `context=edit` → 401 `rest_forbidden_context`, and `posts?status=draft` → **400**
  `rest_invalid_param` whose `details.status.data.status` is 401. All of these are
  `WordPressAuthFailed` (or `ApplicationPasswordsUnavailable` when the site's index doesn't offer
  them, e.g. plain http outside a `local` environment).
- Without pretty permalinks `/wp-json/…` answers the home page (200 HTML, or a 301 to it), even
  for a POST, which is then not carried out; `?rest_route=/…` always works. The client detects
  this and falls back; `api_style` tells the caller which style to remember.
- Lists carry `X-WP-Total`/`X-WP-TotalPages`; a posts page past the end is 400
  `rest_post_invalid_page_number`, a terms page past the end is an empty list. Both take
  `orderby=id` and `offset` (which overrides `page`); an empty answer's `X-WP-Total` is 0.
"""

from __future__ import annotations

import contextlib
import email.utils
import itertools
import logging
import re
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, cast
from urllib.parse import urlsplit

import aiohttp

from services.errors import UpstreamError

if TYPE_CHECKING:
    from tenacity import RetryCallState

log = logging.getLogger("inkflow.wordpress")

ApiStyle = Literal["wp-json", "rest_route"]
API_STYLES: tuple[ApiStyle, ...] = ("wp-json", "rest_route")
DEFAULT_TIMEOUT = 30.0  # seconds for one request
MAX_ATTEMPTS = 4
BACKOFF_BASE = 0.5  # seconds; waits grow exponentially (with jitter) from here
BACKOFF_CAP = 30.0  # seconds; also the most a Retry-After is honoured for
PER_PAGE = 100  # WordPress's maximum
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Error codes WordPress gives an anonymous request for what needs a login (see the docstring).
_ANONYMOUS_CODES = frozenset(
    {"rest_not_logged_in", "rest_cannot_create", "rest_forbidden_context", "rest_cannot_view", "rest_forbidden"}
)
_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")


# --- errors -------------------------------------------------------------------------------------


class WordPressError(UpstreamError):
    """WordPress could not be used; `status`/`wp_code`/`data` are what it answered, if it did."""

    code, message = "wordpress_error", "WordPress answered with an error."

    def __init__(
        self, message: str | None = None, *, status: int | None = None, wp_code: str | None = None, data: Any = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.wp_code = wp_code
        self.data = data if isinstance(data, dict) else {}


class WordPressAuthFailed(WordPressError):
    code = "wordpress_auth_failed"
    message = "WordPress did not accept the username and application password."


class ApplicationPasswordsUnavailable(WordPressAuthFailed):
    code = "wordpress_app_passwords_unavailable"
    message = (
        "Application passwords are not available on this WordPress site: WordPress offers them only over "
        "https (or with WP_ENVIRONMENT_TYPE=local), and a plugin may have turned them off."
    )


class WordPressForbidden(WordPressError):
    code, message = "wordpress_forbidden", "The WordPress user is not allowed to do this."


class NotWordPress(WordPressError):
    code, message = "not_wordpress", "This address does not answer like a WordPress site."


class WordPressNotFound(WordPressError):
    code, message = "wordpress_not_found", "WordPress has no such object."


class WordPressUnreachable(WordPressError):
    code, message = "wordpress_unreachable", "The WordPress site could not be reached."


class WordPressTimeout(WordPressError):
    code, message = "wordpress_timeout", "The WordPress site did not answer in time."


class WordPressRateLimited(WordPressError):
    code, message = "wordpress_rate_limited", "The WordPress site is limiting requests (429)."

    def __init__(self, message: str | None = None, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class WordPressServerError(WordPressError):
    code, message = "wordpress_server_error", "The WordPress site failed (5xx)."


class _NotConnected(WordPressUnreachable):
    """The connection was never made, so nothing was sent: even a POST may be retried."""


# --- responses ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class WpResponse:
    status: int
    headers: Mapping[str, str]
    data: Any
    is_json: bool

    @property
    def total(self) -> int | None:
        return _int_header(self.headers, "X-WP-Total")

    @property
    def total_pages(self) -> int | None:
        return _int_header(self.headers, "X-WP-TotalPages")


@dataclass(frozen=True)
class ListCursor:
    """Where a read of a list in id order stands: every item up to id `after` has been read, and
    the next request starts at `offset`, the place that item had (one item of overlap).

    Page numbers would skip items: an item deleted before the page being read moves every later
    one a place back, so the first of the next page slides onto the page already read. The
    overlap tells: if the next answer starts past `after`, something before it was removed, and
    the read steps back until it starts at or before the last item read. `first` is the first id
    of the answer the cursor came from: the next answer starting with it again means WordPress
    ignored `offset`."""

    after: int = 0
    offset: int = 0
    first: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"after": self.after, "offset": self.offset, "first": self.first}

    @classmethod
    def of(cls, value: Any) -> ListCursor:
        """A cursor from `as_dict` (a job's checkpoint); anything else starts from the top."""
        if isinstance(value, dict):
            numbers = (value.get("after"), value.get("offset"), value.get("first", 0))
            if all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in numbers):
                return cls(*cast(tuple[int, int, int], numbers))
        return cls()


@dataclass(frozen=True)
class WpPage:
    """One page of a WordPress list: the items not read before it, the totals WordPress announced
    with it, and where the list goes on (None: it ended with this page)."""

    items: list[dict[str, Any]]
    page: int
    total: int | None
    total_pages: int | None
    next: ListCursor | None = None


def _listed(route: str, data: Any) -> tuple[list[dict[str, Any]], list[int]]:
    """A list answer's items and their ids, checked to be in id order."""
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise WordPressError(f"WordPress answered GET {route} with something other than a list.")
    items = cast(list[dict[str, Any]], data)
    ids = [item.get("id") for item in items]
    if not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        raise WordPressError(f"WordPress answered GET {route} with an item without an id.")
    checked = cast(list[int], ids)
    if any(a >= b for a, b in itertools.pairwise(checked)):
        raise WordPressError(f"WordPress answered GET {route} out of id order.")
    return items, checked


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    if value is None:
        return None
    with contextlib.suppress(ValueError):
        return int(value)
    return None


def retry_after_seconds(value: str | None) -> float | None:
    """A `Retry-After` header in seconds or as an HTTP date; None when absent or unreadable."""
    if value is None:
        return None
    with contextlib.suppress(ValueError):
        return max(0.0, float(value))
    with contextlib.suppress(TypeError, ValueError):
        return max(0.0, (email.utils.parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds())
    return None


def safe_filename(filename: str) -> str:
    """A filename WordPress takes from `Content-Disposition` as is (ASCII, no quotes or paths)."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    stem = _UNSAFE_FILENAME.sub("-", stem).strip("-.") or "upload"
    ext = _UNSAFE_FILENAME.sub("", ext)
    return f"{stem[:150]}.{ext}" if ext else stem[:150]


def _anonymous_answer(status: int, wp_code: str | None, data: dict[str, Any]) -> bool:
    """Whether WordPress answered as it does to a request it didn't authenticate."""
    if status == 401:
        return True
    if status == 403 and wp_code in _ANONYMOUS_CODES:
        return False  # logged in, but the user lacks the capability: 403, not 401
    if status == 400 and wp_code == "rest_invalid_param":
        details = data.get("details")
        if isinstance(details, dict):
            return any(
                isinstance(d, dict) and isinstance(d.get("data"), dict) and d["data"].get("status") == 401
                for d in details.values()
            )
    return False


# --- the client ---------------------------------------------------------------------------------


class WordPressClient:
    """One WordPress site seen through its REST API, as one user.

    `api_style` is the URL style known to work (`wp-json` or `rest_route`); None detects it on
    the first request. When it changes (detected, or a site that turned pretty permalinks off)
    the caller should store the new value so the next client starts with it.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        username: str,
        app_password: str,
        *,
        api_style: ApiStyle | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_attempts: int = MAX_ATTEMPTS,
        backoff_base: float = BACKOFF_BASE,
        backoff_cap: float = BACKOFF_CAP,
    ) -> None:
        self.session = session
        self.base_url = base_url.rstrip("/")
        self.username = username
        # Sent as a header; aiohttp drops it when a redirect leaves the site's origin.
        self._authorization = aiohttp.encode_basic_auth(username, app_password)
        self.api_style: ApiStyle | None = api_style
        self.index: dict[str, Any] | None = None  # the site's REST index, once read
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap

    @property
    def host(self) -> str:
        parts = urlsplit(self.base_url)
        return parts.netloc or self.base_url

    # --- URLs and discovery ---

    def _url(self, route: str, style: ApiStyle, params: Mapping[str, Any] | None) -> tuple[str, dict[str, str]]:
        query = {name: _param(value) for name, value in (params or {}).items() if value is not None}
        if style == "wp-json":
            return f"{self.base_url}/wp-json{route}", query
        return f"{self.base_url}/", {"rest_route": route, **query}

    async def discover(self) -> dict[str, Any]:
        """Read the site's REST index, trying `/wp-json/` then `?rest_route=/`; sets `api_style`.

        `NotWordPress` when neither answers with a WordPress index."""
        for style in self._styles_to_try():
            response = await self._send("GET", "/", style, auth=False)
            if response.status == 200 and _is_index(response.data):
                self.api_style = style
                self.index = response.data
                return response.data
        raise NotWordPress(
            f"{self.base_url} does not answer like a WordPress site: neither {self.base_url}/wp-json/ nor "
            f"{self.base_url}/?rest_route=/ returned the WordPress REST API. Check the address (the site's home "
            "page, e.g. https://example.com) and that the REST API isn't blocked."
        )

    def _styles_to_try(self) -> tuple[ApiStyle, ...]:
        if self.api_style == "rest_route":
            return ("rest_route", "wp-json")
        return API_STYLES

    @property
    def application_passwords_available(self) -> bool | None:
        """What the site's index says (None before it was read)."""
        if self.index is None:
            return None
        authentication = self.index.get("authentication")
        return isinstance(authentication, dict) and "application-passwords" in authentication

    # --- requests ---

    async def request(
        self,
        method: str,
        route: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> WpResponse:
        """Call `route` (e.g. `/wp/v2/posts`) and return its JSON answer; a typed `WordPressError`
        for anything but a 2xx JSON answer."""
        if self.api_style is None:
            await self.discover()
        assert self.api_style is not None
        response = await self._send(method, route, self.api_style, params=params, json=json, data=data, headers=headers)
        if not response.is_json and self.api_style == "wp-json":
            # Pretty permalinks were turned off since: WordPress served the home page and did
            # nothing (a POST included), so the request can be sent again the other way.
            previous = self.api_style
            await self.discover()
            if self.api_style != previous:
                log.info("%s: /wp-json/ no longer routes; using ?rest_route=", self.host)
                response = await self._send(
                    method, route, self.api_style, params=params, json=json, data=data, headers=headers
                )
        if not response.is_json:
            raise NotWordPress(
                f"{self.base_url} answered {method} {route} with something other than the WordPress REST API "
                f"(HTTP {response.status})."
            )
        if response.status >= 300:
            raise await self._error(method, route, response)
        return response

    async def _error(self, method: str, route: str, response: WpResponse) -> WordPressError:
        body = response.data if isinstance(response.data, dict) else {}
        wp_code = body.get("code") if isinstance(body.get("code"), str) else None
        text = body.get("message") if isinstance(body.get("message"), str) else ""
        data: dict[str, Any] = body["data"] if isinstance(body.get("data"), dict) else {}
        said = f"{response.status} {wp_code}: {text}" if wp_code else f"HTTP {response.status}"
        status = response.status
        if _anonymous_answer(status, wp_code, data):
            if self.index is None:
                with contextlib.suppress(WordPressError):
                    await self.discover()
            if self.application_passwords_available is False:
                return ApplicationPasswordsUnavailable(status=status, wp_code=wp_code, data=data)
            return WordPressAuthFailed(
                f"WordPress did not accept the username {self.username!r} with this application password: it "
                f"treated the request as anonymous ({said}). Check the username and create a new application "
                "password under Users → Profile → Application Passwords.",
                status=status,
                wp_code=wp_code,
                data=data,
            )
        if status == 403:
            return WordPressForbidden(
                f"The WordPress user {self.username!r} is not allowed to {method} {route} ({said}).",
                status=status,
                wp_code=wp_code,
                data=data,
            )
        if status == 404:
            return WordPressNotFound(f"WordPress: {said}", status=status, wp_code=wp_code, data=data)
        return WordPressError(
            f"WordPress answered {method} {route} with {said}", status=status, wp_code=wp_code, data=data
        )

    async def _send(
        self,
        method: str,
        route: str,
        style: ApiStyle,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        auth: bool = True,
    ) -> WpResponse:
        """One request with retries: 429 (after Retry-After), 5xx, timeouts and dropped connections
        for reads; for writes only 429 and connections never made, which WordPress cannot have acted on."""
        from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_random_exponential

        url, query = self._url(route, style, params)
        safe = method.upper() in SAFE_METHODS
        backoff = wait_random_exponential(multiplier=self.backoff_base, max=self.backoff_cap)

        def retryable(exc: BaseException) -> bool:
            if isinstance(exc, WordPressRateLimited | _NotConnected):
                return True
            return safe and isinstance(exc, WordPressServerError | WordPressUnreachable | WordPressTimeout)

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            if isinstance(exc, WordPressRateLimited) and exc.retry_after is not None:
                return min(self.backoff_cap, exc.retry_after)
            return backoff(state)

        def log_retry(state: RetryCallState) -> None:
            assert state.outcome is not None and state.next_action is not None
            log.warning(
                "%s %s %s: %s; retry %d in %.2f s",
                self.host,
                method,
                route,
                state.outcome.exception(),
                state.attempt_number,
                state.next_action.sleep,
            )

        async def attempt() -> WpResponse:
            return await self._once(method, url, query, json=json, data=data, headers=headers, auth=auth)

        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.max_attempts),
            wait=wait,
            retry=retry_if_exception(retryable),
            before_sleep=log_retry,
            reraise=True,
        )
        return await retrying(attempt)

    async def _once(
        self,
        method: str,
        url: str,
        query: dict[str, str],
        *,
        json: Any,
        data: bytes | None,
        headers: Mapping[str, str] | None,
        auth: bool,
    ) -> WpResponse:
        try:
            async with self.session.request(
                method,
                url,
                params=query,
                json=json,
                data=data,
                headers={**(headers or {}), **({"Authorization": self._authorization} if auth else {})},
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                # A redirected POST would arrive as a GET; reads may follow (http → https, say).
                allow_redirects=method.upper() in SAFE_METHODS,
            ) as response:
                await response.read()
                is_json = "json" in response.content_type
                body: Any = None
                if is_json:
                    try:
                        body = await response.json(content_type=None)
                    except ValueError:
                        is_json = False
                result = WpResponse(response.status, response.headers, body, is_json)
        except aiohttp.ClientConnectorError as exc:
            raise _NotConnected(f"Could not connect to {self.host}: {exc.os_error or exc}.") from exc
        except TimeoutError as exc:
            raise WordPressTimeout(f"{self.host} did not answer within {self.timeout:g} s.") from exc
        except aiohttp.ClientError as exc:
            raise WordPressUnreachable(
                f"The connection to {self.host} failed: {type(exc).__name__} {exc}".rstrip() + "."
            ) from exc
        if result.status == 429:
            raise WordPressRateLimited(
                f"{self.host} is limiting requests (429 Too Many Requests).",
                retry_after=retry_after_seconds(result.headers.get("Retry-After")),
                status=429,
            )
        if result.status >= 500:
            body = result.data if isinstance(result.data, dict) else {}
            said = f" {body['code']}" if isinstance(body.get("code"), str) else ""
            raise WordPressServerError(
                f"{self.host} failed: HTTP {result.status}{said}.", status=result.status, wp_code=body.get("code")
            )
        return result

    # --- reading ---

    async def get(self, route: str, **params: Any) -> Any:
        return (await self.request("GET", route, params=params)).data

    async def page_after(
        self,
        route: str,
        params: Mapping[str, Any] | None = None,
        cursor: ListCursor | None = None,
        *,
        page: int = 1,
        per_page: int = PER_PAGE,
    ) -> WpPage:
        """The next page of a list read in id order from `cursor` (see `ListCursor`): only items
        with a larger id than any read before, wherever items were added or removed meanwhile.

        The list ends at a short page or where `X-WP-Total` says. A page may bring nothing new (old
        items entering a `modified_after` window before the cursor's place); the read goes on, a
        page further each time. A WordPress that doesn't sort by id or ignores `offset` (the same
        answer again at the next offset) fails the read rather than leaving items out of it."""
        if per_page < 2:
            raise ValueError("paging in id order needs two items a page or more (one overlaps)")
        cursor = cursor or ListCursor()
        offset = cursor.offset
        while True:
            query = {**(params or {}), "orderby": "id", "order": "asc", "per_page": per_page, "offset": offset}
            response = await self.request("GET", route, params=query)
            items, ids = _listed(route, response.data)
            if offset == cursor.offset > 0 and ids and ids[0] == cursor.first:
                raise WordPressError(
                    f"WordPress answered GET {route} at offset {offset} as it did at the page before: it "
                    "may not support `offset` there, so the list can't be read in full."
                )
            if offset == 0 or (ids and ids[0] <= cursor.after):
                break
            # What was before `offset` has shrunk: the items after `cursor.after` may now start
            # on the page already read. Step back (the overlap checks again).
            offset = max(0, offset - (per_page - 1))
        fresh = [item for item in items if item["id"] > cursor.after]
        total = response.total
        following = None
        if len(items) == per_page and (total is None or offset + len(items) < total):
            following = ListCursor(after=max(cursor.after, ids[-1]), offset=offset + len(items) - 1, first=ids[0])
        return WpPage(fresh, page, total, response.total_pages, following)

    async def pages(
        self, route: str, params: Mapping[str, Any] | None = None, *, per_page: int = PER_PAGE
    ) -> AsyncIterator[WpPage]:
        """Every page of a list, in id order (`page_after`): every item once, even with items
        added or deleted while it is read."""
        cursor: ListCursor | None = ListCursor()
        number = 0
        while cursor is not None:
            number += 1
            found = await self.page_after(route, params, cursor, page=number, per_page=per_page)
            yield found
            cursor = found.next

    async def items(
        self, route: str, params: Mapping[str, Any] | None = None, *, per_page: int = PER_PAGE
    ) -> AsyncIterator[dict[str, Any]]:
        async for page in self.pages(route, params, per_page=per_page):
            for item in page.items:
                yield item

    async def me(self) -> dict[str, Any]:
        """The authenticated user with roles and capabilities (`context=edit`)."""
        data = await self.get("/wp/v2/users/me", context="edit")
        if not isinstance(data, dict):
            raise WordPressError("WordPress answered users/me with something other than a user.")
        return data

    async def types(self) -> dict[str, Any]:
        return _mapping(await self.get("/wp/v2/types", context="edit"), "types")

    async def taxonomies(self) -> dict[str, Any]:
        return _mapping(await self.get("/wp/v2/taxonomies", context="edit"), "taxonomies")

    def posts(self, **params: Any) -> AsyncIterator[dict[str, Any]]:
        return self.items("/wp/v2/posts", params)

    def pages_of_site(self, **params: Any) -> AsyncIterator[dict[str, Any]]:
        """The site's WordPress pages (the post type; `pages()` is pagination)."""
        return self.items("/wp/v2/pages", params)

    def categories(self, **params: Any) -> AsyncIterator[dict[str, Any]]:
        return self.items("/wp/v2/categories", params)

    def tags(self, **params: Any) -> AsyncIterator[dict[str, Any]]:
        return self.items("/wp/v2/tags", params)

    async def get_object(self, collection: str, object_id: int, **params: Any) -> dict[str, Any]:
        return _mapping(await self.get(f"/wp/v2/{collection}/{object_id}", **params), collection)

    # --- writing ---

    async def create(self, collection: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        """POST a new post, page, category or tag (`collection` is its REST base)."""
        response = await self.request("POST", f"/wp/v2/{collection}", json=dict(fields))
        return _mapping(response.data, collection)

    async def update(self, collection: str, object_id: int, fields: Mapping[str, Any]) -> dict[str, Any]:
        response = await self.request("POST", f"/wp/v2/{collection}/{object_id}", json=dict(fields))
        return _mapping(response.data, collection)

    async def delete(self, collection: str, object_id: int, *, force: bool = True) -> dict[str, Any]:
        response = await self.request("DELETE", f"/wp/v2/{collection}/{object_id}", params={"force": force})
        return _mapping(response.data, collection)

    async def upload_media(
        self, filename: str, body: bytes, content_type: str, *, alt_text: str | None = None
    ) -> dict[str, Any]:
        """Upload a file to the media library (the raw body, named by `Content-Disposition`),
        then set its `alt_text`, which the upload itself can't carry."""
        headers = {
            "Content-Type": content_type,
            "Content-Disposition": f'attachment; filename="{safe_filename(filename)}"',
        }
        media = _mapping((await self.request("POST", "/wp/v2/media", data=body, headers=headers)).data, "media")
        if alt_text:
            media = await self.update("media", int(media["id"]), {"alt_text": alt_text})
        return media


def _param(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ",".join(str(item) for item in value)
    return str(value)


def _is_index(data: Any) -> bool:
    return isinstance(data, dict) and isinstance(data.get("namespaces"), list) and "wp/v2" in data["namespaces"]


def _mapping(data: Any, what: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise WordPressError(f"WordPress answered with something other than a {what} object.")
    return data


def elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


__all__ = [
    "API_STYLES",
    "ApiStyle",
    "ApplicationPasswordsUnavailable",
    "ListCursor",
    "NotWordPress",
    "WordPressAuthFailed",
    "WordPressClient",
    "WordPressError",
    "WordPressForbidden",
    "WordPressNotFound",
    "WordPressRateLimited",
    "WordPressServerError",
    "WordPressTimeout",
    "WordPressUnreachable",
    "WpPage",
    "WpResponse",
    "elapsed_ms",
]
