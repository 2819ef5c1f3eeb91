"""The OpenAI SDK's HTTP client, sending its requests through the process's `Outbound` session
(its connection pool, SSL context and address rule). Imported on the first AI call: it loads
`openai`, which takes longer to import than the rest of the server."""

from __future__ import annotations

import aiohttp
import httpx2
import openai

# The SDK's own aiohttp adapter (what `openai.DefaultAioHttpClient` uses); only the session is ours.
from openai._vendor.httpx_aiohttp import AiohttpTransport

from services.outbound import Outbound


class OutboundTransport(AiohttpTransport):
    """httpx requests sent with the `Outbound` session; redirects followed by httpx come back
    here, so each hop is checked again."""

    def __init__(self, outbound: Outbound) -> None:
        super().__init__(verify=outbound.ssl_context, client=outbound.session)

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        try:
            return await super().handle_async_request(request)
        except httpx2.ConnectTimeout as exc:
            # The adapter maps every aiohttp connection error to a timeout; a refused or dropped
            # connection is a connection error (both are retried, the message differs).
            cause = exc.__cause__
            if isinstance(cause, aiohttp.ClientConnectionError) and not isinstance(cause, aiohttp.ServerTimeoutError):
                raise httpx2.ConnectError(str(exc), request=request) from cause
            raise

    async def aclose(self) -> None:
        """Leave the session open: it is the Outbound's, closed once at shutdown."""


def http_client(outbound: Outbound) -> httpx2.AsyncClient:
    """An httpx client with the SDK's defaults over the `Outbound` session."""
    return openai.DefaultAsyncHttpxClient(transport=OutboundTransport(outbound))
