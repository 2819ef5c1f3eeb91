"""`GET /`: the URL start-up prints answers where to go next, public, in the envelope."""

from __future__ import annotations

from typing import Any

from server.app import create_app
from tests.helpers import Api


async def test_the_root_url_is_a_public_index_whose_links_work(aiohttp_client: Any, make_settings: Any) -> None:
    api = Api(await aiohttp_client(create_app(make_settings())))
    body = await api.call("GET", "/")
    data = body["data"]
    assert data["name"] == "Inkflow API" and data["version"]
    assert set(data["links"]) == {"app", "docs", "redoc", "openapi", "health"}
    assert data["links"]["app"] == "/app/"
    for link in data["links"].values():
        response = await api.client.get(link)
        assert response.status == 200, link
    head = await api.client.head("/")
    assert head.status == 200


async def test_the_index_is_in_the_openapi_document_as_public(aiohttp_client: Any, make_settings: Any) -> None:
    api = Api(await aiohttp_client(create_app(make_settings())))
    spec = await (await api.client.get("/api/docs/openapi.json")).json()
    operation = spec["paths"]["/"]["get"]
    assert operation["security"] == []
    assert "200" in operation["responses"]
