"""Placement: where a site's actor runs, and the one way to send it a message from any process.

- One process (no Redis): every site's actor runs here, as it always did; at start the sites
  with unfinished jobs are started so their jobs resume.
- Several processes (Redis): a site's actor runs only in the process holding the site's lease
  (services/ownership.py). `tell` runs the message here when this process holds the lease or
  can take it (a site nobody owns is claimed by the process that gets work for it); otherwise
  it wakes the owner over the wake channel. The job row is what makes the hand-over durable:
  every second each process sweeps for sites with queued or running jobs that no live process
  owns (their owner died or stopped) and takes them — that is the start-up recovery and the
  failover both — and tells each of its own sites' actors the tally of the site's jobs
  (`Recount`: one message per site, however long its backlog); an actor that knows other jobs
  reads them, so a lost wake-up costs a second.
  The scheduler runs in whichever process holds the `scheduler` lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from actors.runtime import Actor, ActorRef, ActorStopped, ActorSystem
from actors.site import MESSAGES, Adopt, Control, Recount, Release, SiteActor, Submit
from services import jobs
from services.ownership import Leases, WakeChannel
from services.periodic import Periodic

log = logging.getLogger("inkflow.actors.placement")


def site_lease(site_id: int) -> str:
    return f"site:{site_id}"


# What `tell` delivers: `Submit` and `Control` from any process, `Adopt` and `Release` (a hold's
# end, `Placement.reserve`) only from the process whose actor was held. (The sweep's `Recount`
# goes straight to the actors of this process.)
Message = Submit | Control | Adopt | Release


@dataclass(frozen=True)
class Hold:
    """A site's actor held for one job (`Placement.reserve`); `fence`: its token (None: one process)."""

    site_id: int
    fence: int | None


class Placement:
    def __init__(
        self,
        make_actor: Callable[[int, int | None], Actor[int]],
        leases: Leases | None,
        *,
        idle_timeout: float = 60.0,
        sweep_interval: float = 1.0,
        drain_timeout: float = 10.0,
    ) -> None:
        """`make_actor(site_id, fence)`; `leases` None for one process."""
        self.leases = leases
        self.system: ActorSystem[int] = ActorSystem(
            lambda site_id: make_actor(site_id, self.fence(site_id)), idle_timeout=idle_timeout
        )
        self.sweep_interval = sweep_interval
        self.drain_timeout = drain_timeout
        self.wake: WakeChannel | None = None
        self._lock = asyncio.Lock()  # taking, using and giving up leases, one at a time
        self._sweeper = Periodic("site-sweep", sweep_interval, self._sweep_once)
        self._loops: list[Periodic] = []
        self._background: set[asyncio.Task[None]] = set()

    @property
    def multi(self) -> bool:
        return self.leases is not None

    def fence(self, site_id: int) -> int | None:
        """The token this process's actor of the site writes with (None: one process)."""
        return None if self.leases is None else self.leases.token(site_lease(site_id))

    # --- life cycle ---------------------------------------------------------------------------------

    async def start(self) -> None:
        if self.leases is None:
            for site_id in await jobs.sites_with_unfinished_work():
                await self.system.ref(site_id)
            return
        self.leases.on_lost = self._lost
        self.wake = WakeChannel(self.leases.redis, self.leases.prefix, self._woken)
        await self.wake.start()
        with contextlib.suppress(Exception):  # Redis or the database down: the loop tries again
            await self.sweep()
        self._loops = [Periodic("lease-renewal", self.leases.ttl_ms / 4000, self._renew_once), self._sweeper]
        for loop in self._loops:
            loop.start()

    async def close(self) -> None:
        """Stop: with leases, finish (or leave checkpointed) each item in flight, then give every
        lease up at once and tell the other processes, so they take the sites over now."""
        for loop in self._loops:
            await loop.stop()
        if self.leases is None:
            await self.system.close()
            return
        log.info("stopping: finishing the items in flight of %d site actors", len(self.system.keys()))
        await self.system.drain(self.drain_timeout)
        await self.system.close()
        released = await self.leases.release_all()
        log.info("stopped; leases given up: %s", ", ".join(released) or "none")
        if released and self.wake is not None:
            await self.wake.send({"released": released})
        if self.wake is not None:
            await self.wake.close()
        for task in list(self._background):
            task.cancel()

    # --- messages -----------------------------------------------------------------------------------

    def reserve(self, site_id: int) -> Hold | None:
        """Hold the site's actor for a job about to be made, if the actor runs here with nothing
        to do (`SiteActor.reserve`): the job is then made taken (`jobs.Taking`, with the hold's
        token) and handed over with `Adopt`. Send `Adopt` or `release` the hold, always."""
        if self.leases is not None and not self.leases.holds(site_lease(site_id)):
            return None
        actor = self.system.idle(site_id)
        if not isinstance(actor, SiteActor) or not actor.reserve():
            return None
        return Hold(site_id, actor.fence)

    async def release(self, hold: Hold) -> None:
        """The held actor's job was not made: it goes back to its queue."""
        await self.tell(hold.site_id, Release())

    async def tell(self, site_id: int, message: Message, *, after: Awaitable[Any] | None = None) -> None:
        """Deliver to the site's actor wherever it runs; never waits for an item in flight.

        `after`: what must be done before another process hears of the message (a job's
        `job.queued`, posted on this process's bus: its actor here publishes after it anyway)."""
        if self.leases is None:
            await (await self.system.ref(site_id)).tell(message)
            return
        ref = await self._local(site_id, take=True)
        if ref is not None:
            with contextlib.suppress(ActorStopped):  # stopping: the row stays for the next owner
                await ref.tell(message)
                return
        if isinstance(message, Release):  # the held actor stopped: nothing to release
            return
        if isinstance(message, Adopt):  # its actor stopped here: the owner takes the job as queued work
            message = Submit(message.job_id)
        if after is not None:
            with contextlib.suppress(Exception):  # unpublished: the sweep hands the work over instead
                await after
        assert self.wake is not None
        kind = next(name for name, cls in MESSAGES.items() if isinstance(message, cls))
        await self.wake.send({"site": site_id, "message": kind, "job_id": message.job_id})

    async def _local(self, site_id: int, *, take: bool) -> ActorRef[int] | None:
        """The site's actor here, if this process owns the site (taking it when free and `take`)."""
        assert self.leases is not None
        name = site_lease(site_id)
        async with self._lock:
            if not self.leases.holds(name):
                if not take or await self.leases.acquire(name, await jobs.highest_fence(site_id)) is None:
                    return None
                log.info("site %s: taken (token %s)", site_id, self.leases.token(name))
            try:
                return await self.system.ref(site_id)
            except ActorStopped:
                return None

    async def _woken(self, message: dict[str, Any]) -> None:
        if "released" in message:
            self._sweeper.poke()
            return
        ref = await self._local(int(message["site"]), take=False)
        if ref is not None:
            with contextlib.suppress(ActorStopped):
                await ref.tell(MESSAGES[message["message"]](int(message["job_id"])))

    # --- ownership ----------------------------------------------------------------------------------

    async def singleton(self, name: str) -> bool:
        """True when this process is the one to do `name` (e.g. the scheduler) right now."""
        if self.leases is None:
            return True
        if self.leases.holds(name):
            return True
        return await self.leases.acquire(name) is not None

    async def sweep(self) -> None:
        """Take the sites with unfinished jobs that no live process owns, and tell the actors of
        the sites this process owns their jobs' tally (a wake-up may have been lost)."""
        assert self.leases is not None
        if self.leases.degraded:
            return
        tallies = await jobs.unfinished_tallies()
        # One round trip says which of the other sites have a live owner: only the free ones are tried.
        others = [site_id for site_id in tallies if not self.leases.holds(site_lease(site_id))]
        owned_elsewhere = {
            site_id
            for site_id, owner in zip(others, await self.leases.owners([site_lease(s) for s in others]), strict=True)
            if owner is not None
        }
        for site_id, tally in tallies.items():
            if site_id in owned_elsewhere:
                continue
            ref = await self._local(site_id, take=True)
            if ref is None:
                continue
            with contextlib.suppress(ActorStopped):
                await ref.tell(Recount(tally))

    async def _lost(self, name: str) -> None:
        if name.startswith("site:"):
            site_id = int(name.removeprefix("site:"))
            task = asyncio.create_task(self.system.stop(site_id), name=f"stop-site-{site_id}")
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    async def _renew_once(self) -> None:
        assert self.leases is not None
        await self.leases.renew_all()
        await self._release_idle()

    async def _release_idle(self) -> None:
        """Give up the leases of sites whose actor stopped for idleness: another process may
        take them when work comes (spreads sites over processes instead of pinning them)."""
        assert self.leases is not None
        async with self._lock:
            for name in list(self.leases.held):
                if name.startswith("site:") and not self.system.running(int(name.removeprefix("site:"))):
                    await self.leases.release(name)

    async def _sweep_once(self) -> None:
        await self.sweep()

    # --- health -------------------------------------------------------------------------------------

    def stats(self) -> dict[str, int]:
        return self.system.stats()

    def health(self) -> dict[str, Any] | str:
        if self.leases is None:
            return "single process"
        body = self.leases.health()
        body["sites"] = sorted(int(n.removeprefix("site:")) for n in self.leases.held if n.startswith("site:"))
        body["scheduler"] = self.leases.holds("scheduler")
        return body
