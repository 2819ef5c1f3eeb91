"""A router that answers `/path` as `/path/` (CONTRACT: no redirects, for any method)."""

from __future__ import annotations

from aiohttp import web
from aiohttp.web_urldispatcher import UrlMappingMatchInfo


class SlashTolerantRouter(web.UrlDispatcher):
    async def resolve(self, request: web.Request) -> UrlMappingMatchInfo:
        match = await super().resolve(request)
        if match.http_exception is not None and not request.path.endswith("/"):
            with_slash = request.clone(rel_url=request.rel_url.with_path(request.path + "/"))
            retry = await super().resolve(with_slash)
            if retry.http_exception is None:
                return retry
        return match
