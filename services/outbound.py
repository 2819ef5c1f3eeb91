"""The one HTTP client for everything the server fetches (image URLs, the OpenAI API, WordPress).

One `aiohttp.ClientSession` per process, with one connection pool, one SSL context and timeouts.
With `INKFLOW_ALLOW_PRIVATE_URLS=false` (CONTRACT §16.28) the address rule is enforced where the
connection is made, after DNS resolution: `AddressRuleResolver` checks every address a name
resolves to, and a client middleware checks hosts written as IP literals (aiohttp connects to
those without asking the resolver). Both run again for every redirect, so a name that resolved
to a public address when it was saved, or a redirect to an internal one, gets no further.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
from collections.abc import Iterable
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.client_middlewares import ClientHandlerType
from aiohttp.resolver import DefaultResolver

from services.errors import UpstreamError, UrlNotAllowed

CONNECT_TIMEOUT = 10.0  # seconds to open a connection
TOTAL_TIMEOUT = 60.0  # seconds for a whole request made with the session's defaults
MAX_DOWNLOAD = 32 * 1024 * 1024  # bytes `fetch_bytes` reads at most

# Instance metadata endpoints (AWS, GCP, Azure, …): link-local and private already, named for clarity.
METADATA_ADDRESSES = frozenset({ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")})
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def is_public_address(address: str) -> bool:
    """Whether the rule lets a connection go to `address`: not loopback, private, link-local,
    reserved, multicast, unspecified or a cloud metadata address."""
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        # An IPv4 address carried inside IPv6 reaches that IPv4 host: judge the host.
        nat64 = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF) if ip in _NAT64 else None
        ip = ip.ipv4_mapped or ip.sixtofour or nat64 or ip
    return ip.is_global and not (
        ip in METADATA_ADDRESSES
        or ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_reserved
        or ip.is_multicast
        or ip.is_unspecified
    )


def _refused(host: str) -> UrlNotAllowed:
    # The address a name resolved to is not repeated: it would tell a tenant about internal DNS.
    return UrlNotAllowed(
        f"This URL is not allowed: {host} points to a private, loopback, link-local or reserved address."
    )


def _endpoint(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return (parts.hostname or "").lower(), parts.port or (443 if parts.scheme == "https" else 80)


class AddressRuleResolver(AbstractResolver):
    """The default resolver, refusing a name when any address it resolves to is not public."""

    def __init__(self, trusted: frozenset[tuple[str, int]] = frozenset()) -> None:
        self._inner = DefaultResolver()
        self._trusted = trusted

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        if (host.lower(), port) not in self._trusted:
            for result in results:
                if not is_public_address(result["host"]):
                    raise _refused(host)
        return results

    async def close(self) -> None:
        await self._inner.close()


class Outbound:
    """The process's outbound HTTP session; made and closed by the app's `outbound_ctx`.

    `allow_private` False applies the address rule; `trusted_urls` are endpoints the operator
    configured (the server's `OPENAI_BASE_URL`), exempt from it: only URLs users give are checked.
    """

    def __init__(self, *, allow_private: bool, trusted_urls: Iterable[str] = ()) -> None:
        self.allow_private = allow_private
        self._trusted = frozenset(_endpoint(url) for url in trusted_urls)
        # One context for every client (the OpenAI transport is handed it too): loading the CA
        # bundle costs more than most requests.
        self.ssl_context = ssl.create_default_context()
        resolver = None if allow_private else AddressRuleResolver(self._trusted)
        connector = aiohttp.TCPConnector(resolver=resolver, ssl=self.ssl_context)
        self.session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=TOTAL_TIMEOUT, sock_connect=CONNECT_TIMEOUT),
            middlewares=() if allow_private else (self._check_literal_host,),
            trust_env=False,  # a proxy from the environment would hide the real destination from the rule
        )

    async def _check_literal_host(
        self, request: aiohttp.ClientRequest, handler: ClientHandlerType
    ) -> aiohttp.ClientResponse:
        host = request.url.host or ""
        try:
            public = is_public_address(host)
        except ValueError:  # a name: the resolver checks its addresses
            return await handler(request)
        if not public and (host.lower(), request.url.port or 0) not in self._trusted:
            raise _refused(host)
        return await handler(request)

    async def fetch_bytes(self, url: str, *, max_bytes: int = MAX_DOWNLOAD) -> bytes:
        """GET `url` and return its body; `UpstreamError` for a failed request, a non-200 answer
        or a body over `max_bytes`, `UrlNotAllowed` when the rule refuses an address."""
        try:
            async with self.session.get(url) as response:
                if response.status != 200:
                    raise UpstreamError(f"{url} answered {response.status}.")
                if (response.content_length or 0) > max_bytes:
                    raise UpstreamError(f"{url} is larger than {max_bytes} bytes.")
                body = bytearray()
                async for chunk in response.content.iter_chunked(64 * 1024):
                    body += chunk
                    if len(body) > max_bytes:
                        raise UpstreamError(f"{url} is larger than {max_bytes} bytes.")
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise UpstreamError(f"{url} could not be fetched: {type(exc).__name__} {exc}".rstrip()) from exc
        return bytes(body)

    async def close(self) -> None:
        await self.session.close()
