"""Schemathesis over the whole OpenAPI document, with all its checks, against a real server on
loopback, as a freshly registered user with data to work on.

Done means: no server error, no response outside its documented schema, no undocumented status,
no schema-valid request rejected — except the rules listed in `CROSS_FIELD_RULES`, which the
document cannot express. The budget is bounded (`MAX_EXAMPLES` per operation, a fixed seed) so
the run takes a few minutes at most. It runs in the PostgreSQL + Redis pass: that backend is the
one whose column types refuse what SQLite stores, which is what fuzzing finds first.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from config.settings import DEFAULT_RATE_LIMITS
from schemas.jobs import WAIT_MAX_S
from server.app import create_app
from tests.ai_helpers import configure_ai
from tests.conftest import BACKEND
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.wordpress_server import FakeWordPress
from tests.helpers import Api

pytestmark = pytest.mark.skipif(
    BACKEND != "postgres", reason="fuzzes the PostgreSQL backend: runs in the PostgreSQL + Redis pass"
)

MAX_EXAMPLES = int(os.environ.get("INKFLOW_FUZZ_EXAMPLES", "8"))
# A deeper local run: INKFLOW_FUZZ_EXAMPLES=100 INKFLOW_FUZZ_SEED=<another> (and a longer timeout).
SEED = int(os.environ.get("INKFLOW_FUZZ_SEED", "20240601"))
RUN_TIMEOUT_S = int(os.environ.get("INKFLOW_FUZZ_TIMEOUT", "600"))

# Operations left out, each for a reason: they end the test user's credentials, which every
# later request needs.
EXCLUDED_PATHS = {
    "/api/v1/auth/logout/": "revokes the access token the run authenticates with",
    "/api/v1/auth/password/change/": "revokes every other session and the access token the run uses",
    "/api/v1/system/modules/": "switching modules off answers 403 on every operation of theirs from then on",
}

# Rules the server enforces across fields or against stored state, which a schema cannot say; a
# schema-valid request may break one and get a 400 (or 426), so `positive_data_acceptance` takes
# these statuses as answers for these paths. `_state_rules` adds two kinds found in the document.
ID_REFERENCE = "an id in the body must name an object of the caller's site (or its industry)"
RANGE = "`x_min` must not be greater than `x_max`"
AI_SET_UP = "the account's AI set-up, which the run's PUTs to its settings change, may be unusable (ai_not_configured)"
CROSS_FIELD_RULES: dict[str, tuple[str, list[int]]] = {
    "/api/v1/ws/": ("a websocket needs the Upgrade handshake, which a schema can't describe: 426 without", [426]),
    "/api/v1/system/prompts/{type}/": ("a prompt must carry the placeholders its {type} needs", [400]),
    "/api/v1/auth/sites/": ("`domain` is a host name or a URL whose host is one", [400]),
    "/api/v1/auth/sites/{id}/": ("`domain` is a host name or a URL whose host is one", [400]),
    "/api/v1/writer/content/{id}/generate_images/": ("the account's image settings may ask for no images", [400]),
    "/api/v1/writer/images/generate_for_content/": ("the account's image settings may ask for no images", [400]),
    "/api/v1/system/settings/integrations/test/": (AI_SET_UP, [400]),
    "/api/v1/publisher/publish/status/": ("exactly one of `job_id` and `content_id`", [400]),
}

# Operations that call the integration's WordPress within the request (a job waited for). The run's
# own POST/PUT /integration/ point integrations at made-up addresses, and then 502 (`wordpress_…`,
# with the failed job) is the documented answer — an upstream failure, not a server error — so
# `not_a_server_error` is off for these alone; every other check still runs on them.
WORDPRESS_UPSTREAM = {
    "/api/v1/writer/content/{id}/publish_to_wordpress/",
    "/api/v1/publisher/publish/",
    "/api/v1/integration/{id}/sync/",
}


def _mentions_ids(schema: dict[str, Any], components: dict[str, Any], depth: int = 0) -> bool:
    if "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[-1]]
    if depth > 5:
        return False
    if schema.get("type") == "array":
        return _mentions_ids(schema.get("items", {}), components, depth + 1)
    return any(
        name == "ids" or name.endswith(("_id", "_ids")) or _mentions_ids(sub, components, depth + 1)
        for name, sub in schema.get("properties", {}).items()
    )


def _state_rules(spec: dict[str, Any]) -> dict[str, tuple[str, list[int]]]:
    """Every path whose body refers to other objects by id, whose query has a `_min`/`_max` pair,
    or that calls the AI."""
    components = spec["components"]["schemas"]
    rules = dict(CROSS_FIELD_RULES)
    for path, item in spec["paths"].items():
        for operation in item.values():
            body = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            if body is not None and _mentions_ids(body, components):
                rules.setdefault(path, (ID_REFERENCE, [400]))
            if any(p["name"].endswith("_min") for p in operation.get("parameters", [])):
                rules.setdefault(path, (RANGE, [400]))
            if "402" in operation["responses"]:  # the operations that spend credits on AI calls
                rules.setdefault(path, (AI_SET_UP, [400]))
    return rules


# positive_data_acceptance's own default: what answers a well-formed request.
ACCEPTED = ["2XX", "3XX", "401", "403", "404", "409", "429", "5XX"]


def _config(rules: dict[str, tuple[str, list[int]]]) -> str:
    """schemathesis.toml for the run: all checks, and the exceptions above."""
    lines = [
        f"seed = {SEED}",
        "[generation]",
        f"max-examples = {MAX_EXAMPLES}",
    ]
    for path in sorted(rules.keys() | WORDPRESS_UPSTREAM):
        lines += ["[[operations]]", f'include-path = "{path}"']
        if path in rules:
            reason, statuses = rules[path]
            lines += [
                f"# {reason}",
                "[operations.checks.positive_data_acceptance]",
                "expected-statuses = [" + ", ".join(f'"{s}"' for s in [*ACCEPTED, *map(str, statuses)]) + "]",
            ]
        if path in WORDPRESS_UPSTREAM:
            # `?wait=` may hold the answer up to 60 s while a made-up address times out: give it that.
            lines.insert(lines.index(f'include-path = "{path}"') + 1, f"request-timeout = {WAIT_MAX_S + 15}")
            lines += ["[operations.checks.not_a_server_error]", "enabled = false"]
    return "\n".join(lines) + "\n"


@pytest.fixture
async def fake() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as server:
        yield server


async def _world(api: Api, fake: FakeOpenAI, wp: FakeWordPress) -> str:
    """A registered owner with an AI set-up, a site connected to a (fake) WordPress and some of
    everything; their access token."""
    owner = await api.register()
    await configure_ai(api, owner, fake)
    site = await api.site(owner)
    site_id = site["id"]
    connection = {"site_id": site_id, "base_url": wp.base_url, "username": wp.username, "app_password": wp.app_password}
    await api.call("POST", "/api/v1/integration/", json=connection, as_=owner, status=201)
    keywords = []
    for word in ("blue widgets", "red widgets", "widget care"):
        body = await api.call(
            "POST", "/api/v1/planner/keywords/", json={"site_id": site_id, "keyword": word}, as_=owner, status=201
        )
        keywords.append(body["data"]["id"])
    cluster = await api.call(
        "POST", "/api/v1/planner/clusters/", json={"site_id": site_id, "name": "Widgets"}, as_=owner, status=201
    )
    await api.call(
        "POST",
        "/api/v1/planner/ideas/",
        json={"site_id": site_id, "cluster_id": cluster["data"]["id"], "title": "All about widgets"},
        as_=owner,
        status=201,
    )
    task = await api.call(
        "POST", "/api/v1/writer/tasks/", json={"site_id": site_id, "title": "Widget care"}, as_=owner, status=201
    )
    await api.call(
        "POST",
        "/api/v1/writer/content/",
        json={"site_id": site_id, "task_id": task["data"]["id"], "title": "Widget care", "html": "<p>Care.</p>"},
        as_=owner,
        status=201,
    )
    return owner.access


async def test_schemathesis_finds_no_failure_over_the_whole_document(
    aiohttp_server: Any, aiohttp_client: Any, make_settings: Any, fake: FakeOpenAI, wp: FakeWordPress, tmp_path: Path
) -> None:
    # The fuzzer sends thousands of requests a minute: raise the limits it would otherwise hit.
    limits = {scope: 1_000_000 for scope in DEFAULT_RATE_LIMITS}
    # A server-wide key too, so the fuzzer clearing the account's key leaves AI working.
    settings = make_settings(rate_limits=limits, openai_api_key="sk-server-key-1234", openai_base_url=fake.base_url)
    server = await aiohttp_server(create_app(settings), host="127.0.0.1")
    api = Api(await aiohttp_client(server))
    token = await _world(api, fake, wp)
    spec = await (await api.client.get("/api/docs/openapi.json")).json()
    (tmp_path / "schemathesis.toml").write_text(_config(_state_rules(spec)))
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(tmp_path / "schemathesis.toml"),
        "--no-color",
        "run",
        f"http://127.0.0.1:{server.port}/api/docs/openapi.json",
        # Every check runs by default; naming them here (`--checks all`) would override the
        # per-operation exceptions of the config file.
        "--header",
        f"Authorization: Bearer {token}",
        "--phases",
        "examples,coverage,fuzzing",
        "--report",
        "junit",
        "--report-dir",
        str(tmp_path / "report"),
    ]
    for path in EXCLUDED_PATHS:
        command += ["--exclude-path", path]
    process = await asyncio.create_subprocess_exec(
        *command,
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), RUN_TIMEOUT_S)
    text = output.decode(errors="replace")
    log = Path(os.environ.get("INKFLOW_FUZZ_LOG", tmp_path / "schemathesis.log"))
    await asyncio.to_thread(log.write_text, text)
    assert process.returncode == 0, text[-20_000:]
