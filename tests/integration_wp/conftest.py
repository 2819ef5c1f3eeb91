"""Fixtures of the Inkflow Connector plugin tests (see plugin_support.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from tests.integration_wp.plugin_support import (
    PluginWordPress,
    Receiver,
    Site,
    install_plugin,
    new_secret,
    remove_plugin,
)


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
