"""The README's "First steps" works exactly as written (issue 8, point 5), and a client generated
from the OpenAPI document can walk the same steps (issue 8, tooling).

1. `test_the_readme_walkthrough_runs_as_written`: the shell blocks of the README's "First steps"
   section, after the first (which starts the two servers), run with bash (`set -euo pipefail`)
   against a real `run.py serve` process and a real `python -m tests.fakes.openai_server` process,
   on the pass's database. The only change made to the text is the two ports, 8000 and 8100, which
   become free ones. Every `# → value` comment in the blocks must be what the commands print, in
   order (`…` stands for anything), and then the server, asked afresh, must hold what the walkthrough
   says: the content, the clustered keywords, and a balance that dropped by exactly what the jobs
   and the ledger say.
2. `test_a_generated_client_walks_the_same_steps`: `openapi-python-client` generates a client from
   the app's `/api/docs/openapi.json` (once per session, into a temp folder; a failure or any
   warning fails the test), and the same steps run through its functions and typed models.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import hashlib
import importlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import aiohttp
import pytest

from server.app import create_app
from tests.fakes.openai_server import FakeOpenAI
from tests.perf.common import RunContext, free_port, print_server_log_tail, start_server, stop_server, wait_http

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
SERVER_IN_README = "127.0.0.1:8000"
MODEL_IN_README = "127.0.0.1:8100"
# What the walkthrough's user types, and what the server's defaults make of it.
EMAIL, PASSWORD = "ada@example.com", "correct horse 1"
KEYWORDS = [
    "trail running shoes",
    "best trail shoes for beginners",
    "waterproof trail shoes",
    "how to clean trail shoes",
]
TASK_TITLE = "How to choose trail running shoes"
SIGNUP_CREDITS, AUTO_CLUSTER_COST, GENERATE_CONTENT_COST = 1000, 5, 10
# The server's own start-up plus one AI call each; generous for a busy 2-core machine.
START_WITHIN_S = 60
WALK_WITHIN_S = 120
# Settings in the caller's environment that would change what the walkthrough shows.
SERVER_ENV_DROPPED = ("DATABASE_URL", "REDIS_URL", "OPENAI_API_KEY", "OPENAI_BASE_URL")
GENERATOR_CONFIG = "package_name_override: inkflow_client\nproject_name_override: inkflow-client\npost_hooks: []\n"


# --- the README --------------------------------------------------------------------------------


def first_steps_blocks(readme: str) -> tuple[str, list[str]]:
    """The "First steps" section's shell blocks: the one that starts the servers, and the walkthrough."""
    match = re.search(r"^## First steps\n(.*?)(?=^## )", readme, re.S | re.M)
    assert match, 'README.md has no "## First steps" section'
    blocks = re.findall(r"^```sh\n(.*?)^```$", match.group(1), re.S | re.M)
    assert len(blocks) >= 2, "First steps needs a block that starts the servers and the walkthrough's blocks"
    return blocks[0], blocks[1:]


def expected_outputs(script: str) -> list[str]:
    """The `# → value` comments of the walkthrough, in order."""
    return [line.split("# → ", 1)[1].strip() for line in script.splitlines() if "# → " in line]


def assert_printed_in_order(expected: list[str], printed: str) -> None:
    """Each expected value is a line printed after the previous one's (`…` matches anything)."""
    lines = printed.splitlines()
    at = 0
    for value in expected:
        pattern = fnmatch.translate(value.replace("[", "[[]").replace("…", "*"))
        while at < len(lines) and not re.match(pattern, lines[at]):
            at += 1
        assert at < len(lines), f"the walkthrough never printed {value!r} where the README says; it printed:\n{printed}"
        at += 1


# --- processes ---------------------------------------------------------------------------------


@dataclass
class Servers:
    """The server and fake-model processes of one test, as the README's first block starts them."""

    tmp: Path
    server: RunContext = field(init=False)
    model: asyncio.subprocess.Process | None = None
    model_log: Path = field(init=False)
    api: str = ""
    model_port: int = 0

    def __post_init__(self) -> None:
        (self.tmp / "server").mkdir(parents=True)
        self.server = RunContext(tmp=self.tmp / "server")
        self.model_log = self.tmp / "model.log"

    async def start(self, database_url: str) -> None:
        self.model_port = free_port()
        with self.model_log.open("wb") as log:
            self.model = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "tests.fakes.openai_server",
                "--port",
                str(self.model_port),
                cwd=ROOT,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
            )
        model = self.model
        await wait_http(
            f"http://127.0.0.1:{self.model_port}/v1/models",
            START_WITHIN_S,
            lambda: model.returncode is None,
            "fake model",
        )
        port = free_port()
        env = {k: v for k, v in os.environ.items() if k not in SERVER_ENV_DROPPED}
        # The pass's database; no Redis: the process is alone, and its counters stay its own.
        env |= {
            "DATABASE_URL": database_url,
            "INKFLOW_DATA_DIR": str(self.tmp / "data"),
            "INKFLOW_LOG_LEVEL": "WARNING",
        }
        command = [sys.executable, "run.py", "serve", "--port", str(port)]
        self.api = await start_server(self.server, command, env, port, START_WITHIN_S, "Inkflow server") + "/api/v1"

    async def stop(self) -> None:
        await stop_server(self.server)
        if self.model is not None and self.model.returncode is None:
            self.model.terminate()
            try:
                await asyncio.wait_for(self.model.wait(), 10)
            except TimeoutError:
                self.model.kill()
                await self.model.wait()

    def logs(self) -> str:
        model = self.model_log.read_text(errors="replace")[-3000:] if self.model_log.exists() else ""
        return f"--- fake model log (tail) ---\n{model}"


@pytest.fixture
async def servers(database_url: str, tmp_path: Path) -> AsyncIterator[Servers]:
    servers = Servers(tmp_path)
    try:
        await servers.start(database_url)
        yield servers
    except BaseException:
        print_server_log_tail(servers.server)
        print(servers.logs(), file=sys.stderr)
        raise
    finally:
        await servers.stop()


# --- what the server holds after the walkthrough ---------------------------------------------


async def check_the_account(api: str) -> int:
    """Log in as the walkthrough's user and check what it made and paid; the balance."""
    async with aiohttp.ClientSession() as session:

        async def get(path: str) -> Any:
            async with session.get(api + path, headers=headers) as response:
                assert response.status == 200, await response.text()
                return await response.json()

        headers: dict[str, str] = {}
        async with session.post(api + "/auth/login/", json={"email": EMAIL, "password": PASSWORD}) as response:
            assert response.status == 200, await response.text()
            headers["Authorization"] = "Bearer " + (await response.json())["data"]["access"]
        sites = (await get("/auth/sites/"))["results"]
        assert [site["name"] for site in sites] == ["Trail Shoes Blog"]
        site = sites[0]["id"]
        keywords = (await get(f"/planner/keywords/?site_id={site}"))["results"]
        assert sorted(k["keyword"] for k in keywords) == sorted(KEYWORDS)
        assert all(k["status"] == "mapped" and k["cluster_id"] is not None for k in keywords)
        tasks = (await get(f"/writer/tasks/?site_id={site}"))["results"]
        assert [t["title"] for t in tasks] == [TASK_TITLE]
        assert tasks[0]["cluster_id"] in {k["cluster_id"] for k in keywords}
        contents = (await get(f"/writer/content/?site_id={site}"))["results"]
        assert [(c["task_id"], c["title"]) for c in contents] == [(tasks[0]["id"], TASK_TITLE)]
        content = (await get(f"/writer/content/{contents[0]['id']}/"))["data"]
        assert content["word_count"] >= 900 and content["html"].count("<h2>") >= 2

        balance = (await get("/billing/balance/"))["data"]["credits"]
        ledger = (await get("/billing/transactions/?page_size=100"))["results"]
        jobs = (await get("/jobs/?ordering=created_at"))["results"]
    # The balance dropped by what the jobs used, and the ledger's rows add up to it.
    assert [(j["kind"], j["status"], j["credits_used"]) for j in jobs] == [
        ("auto_cluster", "succeeded", AUTO_CLUSTER_COST),
        ("generate_content", "succeeded", GENERATE_CONTENT_COST),
    ]
    assert balance == SIGNUP_CREDITS - AUTO_CLUSTER_COST - GENERATE_CONTENT_COST
    assert sum(row["amount"] for row in ledger) == balance
    for job in jobs:
        assert sum(row["amount"] for row in ledger if row["job_id"] == job["id"]) == -job["credits_used"]
    return balance


# --- 1. the README's blocks, with bash ---------------------------------------------------------


async def test_the_readme_walkthrough_runs_as_written(servers: Servers, tmp_path: Path) -> None:
    start, walkthrough = first_steps_blocks(README.read_text())
    # The first block starts what the fixture starts, at the ports the walkthrough then uses.
    assert "make run" in start and f"http://{SERVER_IN_README}/" in start
    assert f".venv/bin/python -m tests.fakes.openai_server --port {MODEL_IN_README.split(':')[1]}" in start
    script = "\n".join(walkthrough)
    for address in (SERVER_IN_README, MODEL_IN_README):
        assert address in script, f"the walkthrough no longer uses {address}"
    api_host = servers.api.removeprefix("http://").removesuffix("/api/v1")
    runnable = script.replace(SERVER_IN_README, api_host).replace(MODEL_IN_README, f"127.0.0.1:{servers.model_port}")

    workdir = tmp_path / "shell"  # the walkthrough must leave no file behind in the user's folder
    workdir.mkdir()
    result = await asyncio.to_thread(
        subprocess.run,
        ["bash", "-c", "set -euo pipefail\n" + runnable],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=WALK_WITHIN_S,
    )
    if result.returncode != 0:
        print_server_log_tail(servers.server)
    assert result.returncode == 0, f"the walkthrough failed:\n{result.stderr}\n--- printed ---\n{result.stdout}"
    assert result.stderr == ""
    assert list(workdir.iterdir()) == []
    expected = expected_outputs(script)
    assert len(expected) >= 8, "the walkthrough should show what its commands print"
    assert_printed_in_order(expected, result.stdout)

    balance = await check_the_account(servers.api)
    assert f"\n{balance}\n" in f"\n{result.stdout}"


# --- 2. the same steps through a generated client ----------------------------------------------


class ClientGenerator:
    """Generates a client package from a document once (per document) in a session's temp folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.packages: dict[str, ModuleType] = {}

    def package(self, document: dict[str, Any]) -> ModuleType:
        text = json.dumps(document, sort_keys=True)
        digest = hashlib.sha256(text.encode()).hexdigest()[:12]
        if digest not in self.packages:
            self.packages[digest] = self._generate(text, self.folder / digest)
        return self.packages[digest]

    def _generate(self, document: str, where: Path) -> ModuleType:
        where.mkdir(parents=True)
        (where / "openapi.json").write_text(document)
        (where / "config.yml").write_text(GENERATOR_CONFIG)
        command = [sys.executable, "-m", "openapi_python_client", "generate", "--path", "openapi.json"]
        command += ["--config", "config.yml", "--meta", "none", "--output-path", "inkflow_client"]
        result = subprocess.run(command, cwd=where, capture_output=True, text=True, timeout=120)
        output = result.stdout + result.stderr
        assert result.returncode == 0, f"openapi-python-client could not generate a client:\n{output}"
        # It generates what it can and names the rest in warnings: any of them is a document to fix.
        assert "warning" not in output.lower() and "error" not in output.lower(), output
        for name in [m for m in sys.modules if m == "inkflow_client" or m.startswith("inkflow_client.")]:
            del sys.modules[name]
        sys.path.insert(0, str(where))
        try:
            return importlib.import_module("inkflow_client")
        finally:
            sys.path.remove(str(where))


@pytest.fixture(scope="session")
def client_generator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClientGenerator]:
    generator = ClientGenerator(tmp_path_factory.mktemp("generated_client"))
    yield generator
    shutil.rmtree(generator.folder, ignore_errors=True)


def _module(package: ModuleType, name: str) -> Any:
    return importlib.import_module(f"{package.__name__}.{name}")


async def test_a_generated_client_walks_the_same_steps(
    aiohttp_server: Any, make_settings: Any, client_generator: ClientGenerator
) -> None:
    async with contextlib.AsyncExitStack() as stack:
        fake = await stack.enter_async_context(FakeOpenAI())
        server = await aiohttp_server(create_app(make_settings()), host="127.0.0.1")
        base = f"http://127.0.0.1:{server.port}"
        async with aiohttp.ClientSession() as session, session.get(base + "/api/docs/openapi.json") as response:
            document = await response.json()
        package = await asyncio.to_thread(client_generator.package, document)
        models = _module(package, "models")
        auth, planner, writer, billing, system = (
            _module(package, f"api.{tag}") for tag in ("auth", "planner", "writer", "billing", "system")
        )

        def call(group: Any, name: str) -> Any:
            # The asyncio variant: the server runs on this test's event loop.
            return importlib.import_module(f"{group.__name__}.{name}").asyncio_detailed

        # Undocumented statuses raise; every answer is parsed into the document's models.
        anonymous = package.Client(base_url=base, raise_on_unexpected_status=True)
        stack.push_async_callback(anonymous.get_async_httpx_client().aclose)

        async def ok(answer: Any, status: int = 200) -> Any:
            assert answer.status_code == status, answer.content
            assert answer.parsed.success is True, answer.content
            return answer.parsed

        registered = await ok(
            await call(auth, "post_api_v1_auth_register")(
                client=anonymous,
                body=models.RegisterIn(email=EMAIL, password=PASSWORD, account_name="Ada Media"),
            ),
            201,
        )
        assert registered.data.account.credits_ == SIGNUP_CREDITS
        login = await ok(
            await call(auth, "post_api_v1_auth_login")(
                client=anonymous, body=models.LoginIn(email=EMAIL, password=PASSWORD)
            )
        )
        client = package.AuthenticatedClient(base_url=base, token=login.data.access, raise_on_unexpected_status=True)
        stack.push_async_callback(client.get_async_httpx_client().aclose)

        ai = await ok(
            await call(system, "put_api_v1_system_settings_integrations_openai")(
                client=client, body=models.OpenAiSettingsIn(api_key="sk-anything", base_url=fake.base_url)
            )
        )
        assert ai.data.key_source == "account"
        site = await ok(
            await call(auth, "post_api_v1_auth_sites")(
                client=client, body=models.SiteIn(name="Trail Shoes Blog", domain="trailshoes.example.com")
            ),
            201,
        )
        ids = []
        for keyword in KEYWORDS:
            made = await ok(
                await call(planner, "post_api_v1_planner_keywords")(
                    client=client, body=models.KeywordIn(site_id=site.data.id, keyword=keyword, volume=1200)
                ),
                201,
            )
            ids.append(made.data.id)
        clustered = await ok(
            await call(planner, "post_api_v1_planner_clusters_auto_cluster")(
                client=client, body=models.AutoClusterIn(site_id=site.data.id, ids=ids)
            )
        )
        assert clustered.data.job.status == "succeeded" and clustered.data.job.credits_used == AUTO_CLUSTER_COST
        cluster = clustered.data.clusters[0].id
        in_cluster = await ok(
            await call(planner, "get_api_v1_planner_keywords")(client=client, site_id=site.data.id, cluster_id=cluster)
        )
        assert [k.status for k in in_cluster.results] == ["mapped"]

        task = await ok(
            await call(writer, "post_api_v1_writer_tasks")(
                client=client,
                body=models.TaskIn(site_id=site.data.id, cluster_id=cluster, title=TASK_TITLE, keywords=[KEYWORDS[0]]),
            ),
            201,
        )
        generated = await ok(
            await call(writer, "post_api_v1_writer_tasks_id_generate_content")(task.data.id, client=client)
        )
        assert generated.data.job.credits_used == GENERATE_CONTENT_COST
        content = await ok(await call(writer, "get_api_v1_writer_content_id")(generated.data.content_id, client=client))
        assert (content.data.title, content.data.task_id) == (TASK_TITLE, task.data.id)
        assert content.data.word_count == generated.data.word_count >= 900 and "<h2>" in content.data.html

        balance = await ok(await call(billing, "get_api_v1_billing_balance")(client=client))
        ledger = await ok(await call(billing, "get_api_v1_billing_transactions")(client=client))
        assert balance.data.credits_ == SIGNUP_CREDITS - AUTO_CLUSTER_COST - GENERATE_CONTENT_COST
        assert sum(row.amount for row in ledger.results) == balance.data.credits_
        assert [(row.operation, row.amount) for row in ledger.results if row.job_id is not None] == [
            ("generate_content", -GENERATE_CONTENT_COST),
            ("auto_cluster", -AUTO_CLUSTER_COST),
        ]
