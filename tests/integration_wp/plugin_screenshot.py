"""Take docs/plugin-settings.png: the plugin's settings page in the real WordPress, with a connection
test, a delivery refused for a wrong secret and two waiting for an unreachable Inkflow (a local
receiver stands in for it). Run: `.venv/bin/python -m tests.integration_wp.plugin_screenshot [PATH]`.
Needs what the plugin tests need, plus Playwright and Debian's Chromium (/usr/bin/chromium)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from aiohttp import web
from playwright.async_api import async_playwright

from tests.integration_wp.plugin_support import (
    PLUGIN_SOURCE,
    SETTINGS_PAGE,
    Receiver,
    Site,
    install_plugin,
    new_secret,
    remove_plugin,
    unique,
)

DEFAULT_PATH = PLUGIN_SOURCE.parents[1] / "docs" / "plugin-settings.png"


class InkflowWords(Receiver):
    """Inkflow's own message for a bad signature (the tests' receiver adds markup to test escaping)."""

    async def webhook(self, request: web.Request) -> web.Response:
        response = await super().webhook(request)
        if response.status == 401:
            error = "The webhook was rejected: No matching signature found."
            return web.json_response({"success": False, "error": error, "code": "invalid_signature"}, status=401)
        return response


async def main(path: Path) -> None:
    wp = install_plugin()
    receiver = InkflowWords(api_key="ink_Q7f2kLm9xYp3RtZ8wVb1nC4d", secret=new_secret())
    await receiver.start()
    site = Site(wp)
    try:
        await wp.configure(receiver.base_url, receiver.api_key, new_secret())  # wrong: one delivery fails
        tag = await site.rest("POST", "tags", status=201, json={"name": unique("Screenshot tag")})
        await site.cron()
        await wp.configure(receiver.base_url, receiver.api_key, receiver.secret)
        post = await site.rest("POST", "posts", status=201, json={"title": unique("Screenshot"), "status": "publish"})
        await site.cron()
        await site.login(wp.user, wp.admin_password)
        await site.submit(await site.page(), "inkflow_connector_test")
        await site.rest("DELETE", f"tags/{tag['id']}", params={"force": "true"})
        await site.rest("DELETE", f"posts/{post['id']}", params={"force": "true"})
        await receiver.stop()  # unreachable: the deletions wait in the queue
        await site.cron()
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
            # 0.8: the whole page in a file of about 150 KB.
            page = await browser.new_page(viewport={"width": 1280, "height": 900}, device_scale_factor=0.8)
            await page.goto(f"{wp.base_url}/wp-login.php")
            await page.fill("#user_login", wp.user)
            await page.fill("#user_pass", wp.admin_password)
            await page.click("#wp-submit")
            await page.wait_for_load_state()
            await page.goto(f"{wp.base_url}{SETTINGS_PAGE}")
            await page.screenshot(path=str(path), full_page=True)
            await browser.close()
    finally:
        await site.close()
        await receiver.stop()
        remove_plugin(wp)


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_PATH))
