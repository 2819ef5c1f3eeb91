"""The operations page's files: served by the server itself, public, nothing fetched from elsewhere.
(What the page does is tested in a real browser: tests/browser/.)"""

from __future__ import annotations

import re
from typing import Any

from server.app import create_app
from server.webapp import APP_DIR

# Anything the page could load from another host: absolute URLs, protocol-relative ones, imports.
OUTSIDE = re.compile(r"""(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}|@import\s+url""", re.IGNORECASE)


async def test_the_page_and_every_file_it_loads_are_served_without_credentials(
    aiohttp_client: Any, make_settings: Any
) -> None:
    client = await aiohttp_client(create_app(make_settings(), docs=False))
    for path in ("/app/", "/app"):
        page = await client.get(path)
        assert page.status == 200 and page.content_type == "text/html"
        assert page.headers["Cache-Control"] == "no-cache"
    html = await (await client.get("/app/")).text()
    linked = re.findall(r'(?:src|href)="(/app/[^"]+)"', html)
    assert set(linked) == {"/app/app.css", "/app/main.js"}
    modules = {"/app/main.js"}
    seen: set[str] = set()
    while modules:
        path = modules.pop()
        seen.add(path)
        response = await client.get(path)
        assert response.status == 200, path
        assert response.content_type in {"text/javascript", "application/javascript"}, path
        for name in re.findall(r'from "\./([a-z]+\.js)"', await response.text()):
            if f"/app/{name}" not in seen:
                modules.add(f"/app/{name}")
    # Every module in the folder is reached from main.js: no dead file ships.
    assert seen == {f"/app/{f.name}" for f in APP_DIR.glob("*.js")}
    css = await client.get("/app/app.css")
    assert css.status == 200 and css.content_type == "text/css"
    assert (await client.get("/app/missing.js")).status == 404


def test_no_file_of_the_page_refers_to_another_host() -> None:
    """Works offline: no CDN, no web font, no analytics."""
    for path in APP_DIR.iterdir():
        text = path.read_text()
        # The SVG namespace is an identifier, never fetched.
        text = text.replace("http://www.w3.org/2000/svg", "")
        assert not OUTSIDE.search(text), (path.name, OUTSIDE.search(text))


def test_the_page_keeps_nothing_in_browser_storage() -> None:
    for path in APP_DIR.glob("*.js"):
        text = path.read_text()
        assert "localStorage" not in text and "sessionStorage" not in text and "indexedDB" not in text, path.name
