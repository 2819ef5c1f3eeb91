"""GET /api/v1/jobs/: filters by site, status and kind, within the account (CONTRACT §8)."""

from __future__ import annotations

from models.jobs import Job
from tests.helpers import Api

JOBS = "/api/v1/jobs/"


async def test_every_job_filter_keeps_its_rows_and_hides_the_others(api: Api) -> None:
    owner, stranger = await api.register(), await api.register()
    site, other = await api.site(owner), await api.site(owner)
    account = owner.account["id"]
    ideas = await Job.create(account_id=account, site_id=site["id"], kind="generate_ideas", status="succeeded")
    running = await Job.create(account_id=account, site_id=site["id"], kind="generate_content", status="running")
    failed = await Job.create(account_id=account, site_id=other["id"], kind="generate_ideas", status="failed")
    await Job.create(account_id=stranger.account["id"], kind="generate_ideas", status="failed")
    await api.assert_filters(
        JOBS,
        owner,
        [
            ({"site_id": other["id"]}, {failed.id}),
            ({"status": "running"}, {running.id}),
            ({"kind": "generate_ideas"}, {ideas.id, failed.id}),
            ({"kind": "generate_ideas", "status": "failed"}, {failed.id}),
        ],
    )
    assert await api.ids(JOBS, stranger, site_id=site["id"]) == set()
    await api.call("GET", JOBS, as_=owner, params={"status": "stuck"}, status=400)
