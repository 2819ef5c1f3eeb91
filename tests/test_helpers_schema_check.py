"""The response check in tests/helpers.py fails on bodies that drift from the documented schema."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests import helpers
from tests.helpers import Api, check_response, documented_responses, route_handler

KEYWORDS = "/api/v1/planner/keywords/"
AUTO_CLUSTER = "/api/v1/planner/clusters/auto_cluster/"
JOB = {
    "id": 7,
    "kind": "auto_cluster",
    "site_id": 1,
    "status": "succeeded",
    "progress": {"done": 1, "total": 1},
    "result": {"clusters": []},
    "error": None,
    "credits_reserved": 5,
    "credits_used": 5,
    "created_at": "2025-01-01T10:00:00Z",
    "started_at": "2025-01-01T10:00:00Z",
    "finished_at": "2025-01-01T10:00:01Z",
}


async def _responses(client: TestClient, method: str, path: str) -> dict[int, Any]:
    return documented_responses(await route_handler(client.app, method, path))


@pytest.fixture
async def keyword_page(api: Api) -> dict[str, Any]:
    """A real page of the keyword list, which passes the check."""
    owner = await api.register()
    site = await api.site(owner)
    await api.call("POST", KEYWORDS, json={"site_id": site["id"], "keyword": "trail shoes"}, as_=owner, status=201)
    return await api.call("GET", KEYWORDS, as_=owner)


def _fails(responses: dict[int, Any], status: int, body: dict[str, Any], reason: str) -> None:
    with pytest.raises(AssertionError, match=reason):
        check_response(responses, status, body, "test")


async def test_a_real_page_passes_and_every_drift_in_a_list_item_fails(
    client: TestClient, keyword_page: dict[str, Any]
) -> None:
    responses = await _responses(client, "GET", KEYWORDS)
    check_response(responses, 200, keyword_page, "test")
    cases = [
        ("extra field", lambda row: row.update(internal_note="x"), r"results\[0\]\.internal_note: not documented"),
        ("missing field", lambda row: row.pop("volume"), r"results\[0\]\.volume: missing"),
        ("wrong type", lambda row: row.update(volume="1000"), r"results\[0\]\.volume: expected Integer"),
        ("bool as int", lambda row: row.update(difficulty=True), r"results\[0\]\.difficulty: expected Integer"),
        ("null not allowed", lambda row: row.update(keyword=None), r"results\[0\]\.keyword: null is not allowed"),
        ("bad datetime", lambda row: row.update(created_at="yesterday"), r"results\[0\]\.created_at: not an ISO"),
    ]
    for _name, change, reason in cases:
        body = copy.deepcopy(keyword_page)
        change(body["results"][0])
        _fails(responses, 200, body, reason)


async def test_the_envelope_itself_is_checked(client: TestClient, keyword_page: dict[str, Any]) -> None:
    responses = await _responses(client, "GET", KEYWORDS)
    _fails(responses, 200, {**keyword_page, "data": []}, r"body\.data: not documented")
    _fails(responses, 200, {k: v for k, v in keyword_page.items() if k != "count"}, r"body\.count: missing")
    _fails(responses, 200, {**keyword_page, "results": {}}, r"body\.results: expected a list")


async def test_an_undocumented_success_status_fails(client: TestClient, keyword_page: dict[str, Any]) -> None:
    responses = await _responses(client, "GET", KEYWORDS)
    _fails(responses, 201, keyword_page, "201 is not a documented status")
    _fails(await _responses(client, "GET", "/api/v1/nothing-here/"), 200, keyword_page, "200 is not a documented")


async def test_error_bodies_must_be_the_error_envelope(client: TestClient) -> None:
    responses = await _responses(client, "GET", KEYWORDS)
    error = {"success": False, "error": "Not found.", "code": "not_found", "request_id": "abc"}
    check_response(responses, 404, error, "test")
    _fails(responses, 404, {**error, "detail": "x"}, r"body\.detail: not documented")
    _fails(responses, 404, {k: v for k, v in error.items() if k != "code"}, r"body\.code: missing")
    _fails(responses, 402, {**error, "required": "ten"}, r"body\.required: expected Integer")


async def test_job_starting_calls_are_checked_by_status_200_with_the_result_202_with_only_the_job(
    client: TestClient,
) -> None:
    responses = await _responses(client, "POST", AUTO_CLUSTER)
    accepted = {"success": True, "data": {"job": {**JOB, "status": "running"}}, "request_id": "abc"}
    done: dict[str, Any] = {
        "success": True,
        "data": {
            "clusters": [{"id": 3, "name": "Trail", "created": True, "keyword_ids": [1, 2]}],
            "unmapped": [],
            "not_found": [],
            "job": JOB,
        },
        "request_id": "abc",
    }
    check_response(responses, 202, accepted, "test")
    check_response(responses, 200, done, "test")
    _fails(responses, 200, accepted, r"body\.data\.clusters: missing")
    _fails(responses, 202, done, r"body\.data\.clusters: not documented")
    nested = copy.deepcopy(done)
    nested["data"]["clusters"][0]["score"] = 1
    _fails(responses, 200, nested, r"body\.data\.clusters\[0\]\.score: not documented")
    nested = copy.deepcopy(done)
    nested["data"]["job"]["secret"] = "x"
    _fails(responses, 200, nested, r"body\.data\.job\.secret: not documented")
    failed = {"success": False, "error": "Upstream.", "code": "upstream_error", "job": JOB, "request_id": "abc"}
    check_response(responses, 502, failed, "test")
    _fails(responses, 502, {**failed, "job": {**JOB, "id": "7"}}, r"body\.job\.id: expected Integer")


async def test_routes_resolve_like_the_server_does(client: TestClient) -> None:
    listing = await route_handler(client.app, "GET", KEYWORDS + "?page=2")
    assert 200 in documented_responses(listing)
    assert await route_handler(client.app, "GET", KEYWORDS.rstrip("/")) is listing
    assert await route_handler(client.app, "GET", KEYWORDS + "12/") is not listing
    assert await route_handler(client.app, "PATCH", KEYWORDS) is None  # 405
    assert await route_handler(client.app, "GET", "/api/v1/nothing-here/") is None


async def test_api_call_runs_the_check_on_every_answer(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    owner = await api.register()
    handler = await route_handler(api.client.app, "GET", "/api/v1/auth/account/")
    await api.call("GET", "/api/v1/auth/account/", as_=owner)
    monkeypatch.setitem(helpers._documented, handler, {})
    with pytest.raises(AssertionError, match="200 is not a documented status"):
        await api.call("GET", "/api/v1/auth/account/", as_=owner)
