"""The outbound HTTP session: the address rule at connect time, redirects, and fetching bytes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import web

from services.errors import UpstreamError, UrlNotAllowed
from services.outbound import Outbound, is_public_address

Serve = Callable[[web.Application], Awaitable[str]]


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",  # loopback
        "::1",
        "10.1.2.3",  # private
        "172.16.0.1",
        "192.168.1.1",
        "fc00::1",
        "169.254.169.254",  # link-local, the cloud metadata service
        "fd00:ec2::254",  # AWS metadata over IPv6
        "fe80::1%eth0",  # link-local with a zone
        "240.0.0.1",  # reserved
        "224.0.0.1",  # multicast
        "ff02::1",
        "0.0.0.0",  # unspecified
        "::",
        "100.64.0.1",  # carrier-grade NAT, not global
        "::ffff:127.0.0.1",  # IPv4 inside IPv6: the IPv4 host is judged
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
        "64:ff9b::a01:203",  # NAT64 of 10.1.2.3
    ],
)
def test_non_public_addresses_are_refused(address: str) -> None:
    assert is_public_address(address) is False


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert is_public_address(address) is True


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    """Start aiohttp apps on loopback; yields a function returning each one's port."""
    runners: list[web.AppRunner] = []

    async def start(app: web.Application) -> str:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        runners.append(runner)
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        return str(runner.addresses[0][1])

    yield start
    for runner in runners:
        await runner.cleanup()


def _recording_app(hits: list[str], body: bytes = b"image bytes") -> web.Application:
    async def handler(request: web.Request) -> web.StreamResponse:
        hits.append(request.path)
        if request.path == "/missing":
            return web.Response(status=404)
        if request.path == "/chunked":  # no Content-Length: the size is only known while reading
            response = web.StreamResponse()
            response.enable_chunked_encoding()
            await response.prepare(request)
            await response.write(body)
            await response.write_eof()
            return response
        return web.Response(body=body)

    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    return app


@pytest.fixture
async def outbound_on() -> AsyncIterator[Outbound]:
    outbound = Outbound(allow_private=False)
    yield outbound
    await outbound.close()


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "[::ffff:127.0.0.1]"])
async def test_a_private_destination_is_refused_before_any_request_is_sent(
    serve: Serve, outbound_on: Outbound, host: str
) -> None:
    hits: list[str] = []
    port = await serve(_recording_app(hits))
    with pytest.raises(UrlNotAllowed) as refused:
        await outbound_on.fetch_bytes(f"http://{host}:{port}/image.png")
    assert refused.value.code == "url_not_allowed"
    assert "private, loopback" in refused.value.message
    assert hits == []


async def test_the_rule_off_fetches_from_loopback(serve: Serve) -> None:
    hits: list[str] = []
    port = await serve(_recording_app(hits))
    outbound = Outbound(allow_private=True)
    try:
        assert await outbound.fetch_bytes(f"http://localhost:{port}/image.png") == b"image bytes"
    finally:
        await outbound.close()
    assert hits == ["/image.png"]


async def test_a_redirect_to_a_private_address_is_refused_at_the_redirect(serve: Serve) -> None:
    inner_hits: list[str] = []
    inner = await serve(_recording_app(inner_hits))

    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPFound(f"http://localhost:{inner}/secret")

    outer_app = web.Application()
    outer_app.router.add_get("/image.png", redirect)
    outer = await serve(outer_app)
    # The first hop is allowed only because it is trusted; the hop it redirects to is not.
    outbound = Outbound(allow_private=False, trusted_urls=[f"http://127.0.0.1:{outer}/"])
    try:
        with pytest.raises(UrlNotAllowed):
            await outbound.fetch_bytes(f"http://127.0.0.1:{outer}/image.png")
    finally:
        await outbound.close()
    assert inner_hits == []


async def test_a_trusted_endpoint_is_exempt_and_only_on_its_own_port(serve: Serve) -> None:
    hits: list[str] = []
    port = await serve(_recording_app(hits))
    other = await serve(_recording_app(hits))
    outbound = Outbound(allow_private=False, trusted_urls=[f"http://localhost:{port}/v1"])
    try:
        assert await outbound.fetch_bytes(f"http://localhost:{port}/ok") == b"image bytes"
        with pytest.raises(UrlNotAllowed):
            await outbound.fetch_bytes(f"http://localhost:{other}/ok")
        with pytest.raises(UrlNotAllowed):  # the same port under another name is not the trusted endpoint
            await outbound.fetch_bytes(f"http://127.0.0.1:{port}/ok")
    finally:
        await outbound.close()
    assert hits == ["/ok"]


async def test_fetch_failures_are_upstream_errors(serve: Serve) -> None:
    hits: list[str] = []
    port = await serve(_recording_app(hits, body=b"x" * 1000))
    outbound = Outbound(allow_private=True)
    try:
        with pytest.raises(UpstreamError, match="answered 404"):
            await outbound.fetch_bytes(f"http://127.0.0.1:{port}/missing")
        for path in ("/big", "/chunked"):
            with pytest.raises(UpstreamError, match="larger than 999 bytes"):
                await outbound.fetch_bytes(f"http://127.0.0.1:{port}{path}", max_bytes=999)
            assert len(await outbound.fetch_bytes(f"http://127.0.0.1:{port}{path}", max_bytes=1000)) == 1000
        with pytest.raises(UpstreamError, match="could not be fetched"):
            await outbound.fetch_bytes("http://127.0.0.1:9/nothing-listens")
    finally:
        await outbound.close()
