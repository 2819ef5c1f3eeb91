"""The operations page at /app/: static files in the project, no build step, no outside URL.

The page is a client of the public API like any other (session cookie + CSRF, the websocket);
the server only hands out its files, so nothing here knows about sessions or runs."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

APP_DIR = Path(__file__).parent / "static" / "app"
APP_PATH = "/app/"


async def page(request: web.Request) -> web.FileResponse:
    # The page is small and changes with each release: always revalidate it (its ETag makes that cheap).
    return web.FileResponse(APP_DIR / "index.html", headers={"Cache-Control": "no-cache"})


def setup(app: web.Application) -> None:
    """`GET /app/` is the page; `/app/<file>` its stylesheet and modules."""
    app.router.add_get(APP_PATH, page)
    # The static resource would claim `/app` itself (a directory: 403); answer it as `/app/`.
    app.router.add_get(APP_PATH.rstrip("/"), page)
    app.router.add_static(APP_PATH, APP_DIR)
