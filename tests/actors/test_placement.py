"""Placement: a message for a site another process owns crosses only after what it must follow."""

from __future__ import annotations

import asyncio
from typing import Any

from actors.placement import Placement
from actors.site import Submit


async def test_a_job_for_a_site_owned_elsewhere_is_announced_there_only_after_its_queued_event() -> None:
    """The owner must not hear of the job (and publish its end) before this process's
    `job.queued` is on the bus: `tell(after=…)` waits for it before the wake-up goes."""
    placement = Placement(lambda site_id, fence: None, leases=object())  # type: ignore[arg-type,return-value]
    sent: list[dict[str, Any]] = []

    class Wake:
        async def send(self, message: dict[str, Any]) -> bool:
            sent.append(message)
            return True

    async def owned_elsewhere(site_id: int, *, take: bool) -> None:
        return None

    placement.wake = Wake()  # type: ignore[assignment]
    placement._local = owned_elsewhere  # type: ignore[method-assign]
    queued: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
    telling = asyncio.ensure_future(placement.tell(3, Submit(12), after=queued))
    await asyncio.sleep(0.05)
    assert sent == [] and not telling.done(), "the wake-up went before the job's queued event"
    queued.set_result([])
    await asyncio.wait_for(telling, 1)
    assert sent == [{"site": 3, "message": "submit", "job_id": 12}]
