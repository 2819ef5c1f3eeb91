"""Helpers for the Inkflow Connector plugin tests against the real WordPress (../shared/wp/wp_up.sh).

The plugin (wordpress/inkflow-connector/) is copied into the WordPress's plugins folder and driven with
WordPress's own PHP (plugin_tool.php, run through `php` as wp_up.sh does its set-up), its REST API (with
the application password) and its admin screens (logged in with the admin's password, cookies and
nonces, as a person would). Deliveries are asynchronous: they go out when wp-cron.php is requested,
which the tests do themselves (the WordPress here has DISABLE_WP_CRON), so nothing depends on timing.
"""

from __future__ import annotations

import asyncio
import base64
import html as html_lib
import json
import os
import re
import secrets
import shutil
import subprocess
import urllib.request
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest
from aiohttp import web
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from tests.integration_wp.test_real_wordpress import WORDPRESS_LOAD, _env_file_values, _unavailable

PLUGIN_SOURCE = Path(__file__).resolve().parents[2] / "wordpress" / "inkflow-connector"
TOOL = Path(__file__).with_name("plugin_tool.php")
WEBHOOK_PATH = "/api/v1/integration/webhook/wordpress/"
SETTINGS_PAGE = "/wp-admin/options-general.php?page=inkflow-connector"


def new_secret() -> str:
    """A Standard Webhooks secret as Inkflow makes them."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def unique(name: str) -> str:
    return f"{name} {uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class PluginWordPress:
    """The real WordPress with the plugin copied in and active."""

    base_url: str
    user: str
    app_password: str
    admin_password: str
    php: str
    plugin_dir: Path

    @property
    def hostport(self) -> str:
        return urlsplit(self.base_url).netloc

    def tool_sync(self, *args: str) -> str:
        done = subprocess.run(
            [self.php, str(TOOL), self.hostport, *args], capture_output=True, text=True, timeout=120, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"plugin_tool.php {args[0]} failed: {done.stderr or done.stdout}")
        return done.stdout

    async def tool(self, *args: str) -> str:
        """Run plugin_tool.php without blocking the loop (a delivery may call this test's receiver)."""
        process = await asyncio.create_subprocess_exec(
            self.php,
            str(TOOL),
            self.hostport,
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), timeout=120)
        if process.returncode != 0:
            raise RuntimeError(f"plugin_tool.php {args[0]} failed: {err.decode() or out.decode()}")
        return out.decode()

    async def state(self) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(await self.tool("state"))
        return result

    async def configure(self, base_url: str, api_key: str, webhook_secret: str) -> None:
        values = {"base_url": base_url, "api_key": api_key, "webhook_secret": webhook_secret}
        await self.tool("configure", json.dumps(values))


def rows_about(state: dict[str, Any], kind: str, object_id: int) -> list[dict[str, Any]]:
    """The plugin's queue rows (from `state()`) about one post or term."""
    rows = []
    for row in state["rows"]:
        body = json.loads(row["body"])
        if body["event"].startswith(kind + ".") and body["data"]["id"] == object_id:
            rows.append(row)
    return rows


def install_plugin() -> PluginWordPress:
    """Copy the plugin into the real WordPress and activate it; skip (or fail) when there is none."""
    values = {**_env_file_values(), **{k: v for k, v in os.environ.items() if k.startswith("WP_")}}
    needed = ("WP_BASE_URL", "WP_USER", "WP_APP_PASSWORD", "WP_ADMIN_PASSWORD", "WP_STATE_DIR")
    if not all(values.get(k) for k in needed):
        _unavailable(f"{', '.join(needed)} are not set and no wp.env was found")
    base_url = values["WP_BASE_URL"].rstrip("/")
    try:
        with urllib.request.urlopen(f"{base_url}/?rest_route=/", timeout=10) as response:
            answered = response.status == 200
    except Exception as exc:  # any failure to reach it means it isn't there
        _unavailable(f"{base_url} does not answer ({type(exc).__name__})")
    if not answered:
        _unavailable(f"{base_url}/?rest_route=/ did not answer 200")
    php = shutil.which("php")
    plugins = Path(values["WP_STATE_DIR"]) / "wp-content" / "plugins"
    if php is None or not WORDPRESS_LOAD.is_file() or not plugins.is_dir() or os.geteuid() != 0:
        _unavailable("installing the plugin needs php, the wordpress package, its plugins folder and root")
    assert php is not None
    # A copy, not a symlink: WordPress's "Delete plugin" must never reach into the repository.
    target = plugins / "inkflow-connector"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(PLUGIN_SOURCE, target)
    wp = PluginWordPress(
        base_url, values["WP_USER"], values["WP_APP_PASSWORD"], values["WP_ADMIN_PASSWORD"], php, target
    )
    wp.tool_sync("uninstall")  # whatever an interrupted run left: options, queue
    wp.tool_sync("activate")
    return wp


def remove_plugin(wp: PluginWordPress) -> None:
    """Uninstall (options, queue table, cron event) and remove the copy, so others' edits queue nothing."""
    try:
        wp.tool_sync("uninstall")
    finally:
        shutil.rmtree(wp.plugin_dir, ignore_errors=True)


# --- a receiver that checks what the plugin sends the way Inkflow does ---


@dataclass
class Delivery:
    webhook_id: str
    timestamp: int
    authorization: str
    answered: int
    sent: dict[str, Any]  # the body as sent, verified or not
    payload: dict[str, Any] | None  # the body once the signature checked out


@dataclass
class Receiver:
    """An aiohttp server standing in for Inkflow's webhook endpoint: it checks the API key and
    verifies the signature with the `standardwebhooks` library, answering 401 like Inkflow; `answer`
    forces a status (e.g. 503) and `stop()` makes it unreachable."""

    api_key: str
    secret: str
    answer: int | None = None
    taxonomy_count: int = 3
    deliveries: list[Delivery] = field(default_factory=list)
    port: int = 0
    _runner: web.AppRunner | None = None

    async def webhook(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = dict(request.headers)
        delivery = Delivery(
            request.headers.get("webhook-id", ""),
            int(request.headers.get("webhook-timestamp", "0") or 0),
            request.headers.get("Authorization", ""),
            0,
            json.loads(body),
            None,
        )
        self.deliveries.append(delivery)
        if self.answer is not None:
            delivery.answered = self.answer
            return web.json_response(
                {"success": False, "error": "Try later.", "code": "unavailable"}, status=self.answer
            )
        if request.headers.get("Authorization") != f"ApiKey {self.api_key}":
            delivery.answered = 401
            return web.json_response({"success": False, "error": "Bad key.", "code": "invalid_token"}, status=401)
        try:
            payload = Webhook(self.secret).verify(body, headers)
        except WebhookVerificationError as exc:
            delivery.answered = 401
            # Markup in the message: the settings page must show it as text.
            error = f"<b>The webhook signature does not match</b> ({exc})."
            return web.json_response({"success": False, "error": error, "code": "invalid_signature"}, status=401)
        delivery.answered, delivery.payload = 200, payload
        return web.json_response({"success": True, "data": {"duplicate": False}})

    async def taxonomies(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"ApiKey {self.api_key}":
            body = {"success": False, "error": "The API key is invalid or has been revoked.", "code": "invalid_token"}
            return web.json_response(body, status=401)
        return web.json_response(
            {"success": True, "count": self.taxonomy_count, "next": None, "previous": None, "results": []}
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post(WEBHOOK_PATH, self.webhook)
        app.router.add_get("/api/v1/writer/taxonomies/", self.taxonomies)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        if not self.port:
            self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def events(self, kind: str, object_id: int, *names: str) -> list[Delivery]:
        """Accepted deliveries about one post or term (`kind`): others' edits of the shared WordPress
        arrive too, and posts and terms have ids of their own."""
        return [
            d
            for d in self.deliveries
            if d.payload is not None
            and d.payload["event"].startswith(kind + ".")
            and d.payload["data"]["id"] == object_id
            and (not names or d.payload["event"] in names)
        ]

    def tries(self, kind: str, object_id: int) -> list[Delivery]:
        """Every delivery about one post or term, accepted or not."""
        return [
            d for d in self.deliveries if d.sent["event"].startswith(kind + ".") and d.sent["data"]["id"] == object_id
        ]


# --- WordPress over HTTP ---


class Site:
    """The WordPress's REST API (application password), wp-cron.php, and its admin as a logged-in user."""

    def __init__(self, wp: PluginWordPress) -> None:
        self.wp = wp
        self.rest_session = aiohttp.ClientSession(
            headers={"Authorization": aiohttp.encode_basic_auth(wp.user, wp.app_password)}
        )
        self.browser = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))

    async def close(self) -> None:
        await self.rest_session.close()
        await self.browser.close()

    async def rest(self, method: str, path: str, status: int = 200, **kwargs: Any) -> Any:
        async with self.rest_session.request(method, f"{self.wp.base_url}/wp-json/wp/v2/{path}", **kwargs) as r:
            body = await r.json()
            assert r.status == status, (method, path, r.status, body)
            return body

    async def cron(self) -> None:
        """Run WordPress's due cron events, as its own spawn (or a system cron) would."""
        async with self.rest_session.get(f"{self.wp.base_url}/wp-cron.php") as r:
            await r.read()

    async def cron_until(self, done: Callable[[], bool], timeout: float = 30) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not done():
            assert loop.time() < deadline, "the deliveries did not arrive"
            await self.cron()
            if not done():
                await asyncio.sleep(0.3)

    async def login(self, user: str, password: str) -> None:
        self.browser.cookie_jar.clear()
        self.browser.cookie_jar.update_cookies({"wordpress_test_cookie": "WP Cookie check"})
        form = {"log": user, "pwd": password, "wp-submit": "Log In", "testcookie": "1"}
        async with self.browser.post(f"{self.wp.base_url}/wp-login.php", data=form, allow_redirects=False) as r:
            assert r.status == 302, f"login as {user} failed: {r.status}"

    async def page(self, path: str = SETTINGS_PAGE, status: int = 200) -> str:
        async with self.browser.get(f"{self.wp.base_url}{path}") as r:
            text = await r.text()
            assert r.status == status, (path, r.status, text[:500])
            return text

    async def submit(self, html: str, marker: str, fields: dict[str, str] | None = None, status: int = 200) -> str:
        """Post the page's form that contains `marker` with its hidden fields (nonce, referer) and
        `fields`, following WordPress's redirect back; the final page's HTML."""
        forms = re.findall(r"<form\b.*?</form>", html, re.S)
        chosen = [f for f in forms if marker in f]
        assert chosen, f"no form with {marker!r} on the page"
        form = chosen[0]
        action_match = re.search(r'action="([^"]+)"', form)
        assert action_match is not None
        hidden = r"<input type=[\"']hidden[\"'][^>]*name=[\"']([^\"']+)[\"'][^>]*value=[\"']([^\"']*)[\"']"
        data = {m.group(1): html_lib.unescape(m.group(2)) for m in re.finditer(hidden, form)}
        data.update(fields or {})
        async with self.browser.post(html_lib.unescape(action_match.group(1)), data=data) as r:
            text = await r.text()
            assert r.status == status, (r.status, text[:500])
            return text


async def wait_for(check: Callable[[], Awaitable[bool]], timeout: float = 30) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.3)


# --- fixtures (the test modules import them by name) ---


@pytest.fixture(scope="module")
def plugin_wp() -> Iterator[PluginWordPress]:
    """The real WordPress with the plugin installed and active for one test module, uninstalled after."""
    wp = install_plugin()
    try:
        yield wp
    finally:
        remove_plugin(wp)


@pytest.fixture
async def site(plugin_wp: PluginWordPress) -> AsyncIterator[Site]:
    s = Site(plugin_wp)
    yield s
    await s.close()


@pytest.fixture
async def receiver(plugin_wp: PluginWordPress) -> AsyncIterator[Receiver]:
    """A running receiver, with the plugin connected to it (fresh key and secret, empty queue)."""
    r = Receiver(api_key="ink_" + new_secret()[6:30].replace("+", "a").replace("/", "b"), secret=new_secret())
    await r.start()
    await plugin_wp.tool("uninstall")
    await plugin_wp.tool("activate")
    await plugin_wp.configure(r.base_url, r.api_key, r.secret)
    yield r
    await r.stop()
    await plugin_wp.tool("configure", "{}")  # others' edits of the shared WordPress must not queue for a dead port
