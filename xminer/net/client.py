"""The work source for pools and daemons: failover in order, back to the first when it returns."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from xminer.job import Job, Result
from xminer.net.daemon import DaemonConnection
from xminer.net.settings import PoolSettings
from xminer.net.stats import ResultStats
from xminer.net.stratum import StratumConnection
from xminer.net.upstream import Upstream, UpstreamError
from xminer.state import Results

if TYPE_CHECKING:
    from xminer.miner import Miner

log = logging.getLogger("xminer.net")
SEEN_LIMIT = 65536


@dataclass(frozen=True)
class ClientOptions:
    retries: int = 5  # failed attempts on one pool before the next one
    retry_pause: float = 5.0  # seconds between attempts
    connect_timeout: float = 10.0  # connect + login
    submit_timeout: float = 30.0  # a submit without a reply is forgotten after this


class PoolClient:
    """A ``WorkSource`` over ``pools`` (enabled ones, in order) with XMRig's failover.

    A pool gets ``retries`` attempts ``retry_pause`` seconds apart, then the next one is tried
    (after the last, the first again).  While a backup pool is active, the pools before it are
    probed every ``retry_pause`` seconds; the first that logs in again becomes active.
    """

    def __init__(self, pools: list[PoolSettings], options: ClientOptions | None = None) -> None:
        self.pools = [p for p in pools if p.enabled]
        if not self.pools:
            raise ValueError("pools: no enabled pool")
        self.options = options or ClientOptions()
        self.miner: Miner | None = None
        self.stats: ResultStats | None = None
        self.active: Upstream | None = None
        self._serial = 0
        self._task: asyncio.Future[None] | None = None
        self._ticker: asyncio.Future[None] | None = None
        self._probes: set[Upstream] = set()
        self._submitted: OrderedDict[tuple[str, str, int], None] = OrderedDict()
        self.duplicates = 0  # shares not sent because they had been sent already
        self.switches: list[str] = []  # pool addresses in the order they became active

    # ---- WorkSource ------------------------------------------------------------------------
    async def start(self, miner: Miner) -> None:
        self.miner = miner
        self.stats = ResultStats(miner.state)
        self._task = asyncio.ensure_future(self._run())
        self._ticker = asyncio.ensure_future(self._tick())

    async def submit(self, result: Result) -> None:
        up = self.active
        job = result.job
        if up is None or not up.owns(job):
            self._state_results().stale += 1
            log.info("share of job %s dropped: its connection is gone", job.job_id)
            return
        key = (up.settings.url, job.job_id, result.nonce)
        if key in self._submitted:
            self.duplicates += 1
            log.info("share %08x of job %s already submitted", result.nonce, job.job_id)
            return
        self._submitted[key] = None
        while len(self._submitted) > SEEN_LIMIT:
            self._submitted.popitem(last=False)
        await up.submit(result)

    async def stop(self) -> None:
        for task in (self._task, self._ticker):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        for up in [self.active, *self._probes]:
            if up is not None:
                await up.close()
        self.active = None
        if self.stats is not None:
            self.stats.closed()

    # ---- the failover loop -----------------------------------------------------------------
    async def _run(self) -> None:
        while True:
            try:
                await self._failover()
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug must not end mining for good: log it and start over
                log.exception("pool client failed, restarting it")
                self._deactivate(lost=True)
                await asyncio.sleep(self.options.retry_pause)

    async def _failover(self) -> None:
        up = await self._connect_from(0)
        while True:
            await self._activate(up)
            switch_to = await self._supervise(up)
            await up.close()
            if switch_to is not None:
                log.info("%s is back, switching from %s", switch_to.name, up.name)
                self._deactivate(lost=False)
                up = switch_to
                continue
            self._deactivate(lost=True)
            await asyncio.sleep(self.options.retry_pause)
            up = await self._connect_from(up.index)

    async def _connect_from(self, index: int) -> Upstream:
        """Try pool ``index`` ``retries`` times, then the next ones in turn, until one logs in."""
        opts = self.options
        while True:
            for attempt in range(1, max(1, opts.retries) + 1):
                try:
                    return await self._open(index)
                except UpstreamError as exc:
                    self._failed(index, exc, attempt)
                if attempt < opts.retries:
                    await asyncio.sleep(opts.retry_pause)
            index = (index + 1) % len(self.pools)
            if index == 0:
                await asyncio.sleep(opts.retry_pause)
            if len(self.pools) > 1:
                log.info("switching to pool #%d %s", index + 1, self.pools[index].address)

    def _failed(self, index: int, exc: Exception, attempt: int) -> None:
        pool = self.pools[index]
        message = f"{pool.address}: {exc}"
        log.error("%s (attempt %d/%d)", message, attempt, self.options.retries)
        if self.stats is not None:
            self.stats.error(message)

    async def _open(self, index: int) -> Upstream:
        assert self.stats is not None
        settings = self.pools[index]
        self._serial += 1
        cls = DaemonConnection if settings.use_daemon else StratumConnection
        kwargs = {} if settings.use_daemon else {"submit_timeout": self.options.submit_timeout}
        up = cls(
            settings,
            index,
            self._serial,
            self.stats,
            self._on_job,
            self.options.connect_timeout,
            **kwargs,
        )
        await up.open()
        return up

    async def _supervise(self, up: Upstream) -> Upstream | None:
        """Serve ``up`` until it is lost (None) or a pool before it logs in again (that one)."""
        serve = asyncio.ensure_future(up.serve())
        probe = asyncio.ensure_future(self._probe_before(up.index)) if up.index > 0 else None
        waiting = {serve} if probe is None else {serve, probe}
        try:
            done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in waiting:
                task.cancel()
        if probe is not None and probe in done and not probe.cancelled():
            return probe.result()
        if serve in done and not serve.cancelled():
            exc = serve.exception()
            reason = str(exc) if exc else "closed"
            log.error("%s: connection lost: %s", up.name, reason)
            if self.stats is not None:
                self.stats.error(f"{up.name}: {reason}")
        return None

    async def _probe_before(self, index: int) -> Upstream:
        """Keep trying the pools before ``index``; return the first that logs in."""
        while True:
            await asyncio.sleep(self.options.retry_pause)
            for i in range(index):
                try:
                    return await self._open(i)
                except UpstreamError as exc:
                    log.debug("probe of %s: %s", self.pools[i].address, exc)

    async def _activate(self, up: Upstream) -> None:
        assert self.stats is not None
        self.active = up
        self.switches.append(up.name)
        self.stats.connected(up.name, up.ip, up.tls_version, up.fingerprint)
        extra = f" {up.tls_version} fingerprint {up.fingerprint}" if up.tls_version else ""
        log.info("use %s %s (%s)%s", up.kind, up.name, up.ip, extra)
        if up.job is not None:
            self._on_job(up, up.job)

    def _deactivate(self, lost: bool) -> None:
        self.active = None
        if self.stats is not None:
            if lost:
                self.stats.lost()
            else:
                self.stats.closed()
        if lost and self.miner is not None:
            self.miner.clear_job()

    # ---- jobs and state --------------------------------------------------------------------
    def _on_job(self, up: Upstream, job: Job) -> None:
        if up is not self.active or self.miner is None:
            return
        if self.stats is not None:
            self.stats.job(job)
        log.info(
            "new job from %s diff %d algo %s height %d",
            up.name,
            job.block_difficulty or job.difficulty,  # daemon: the block's, not the tail target's
            job.algo,
            job.height,
        )
        task = asyncio.ensure_future(self.miner.set_job(job))
        task.add_done_callback(_log_failure)

    def _state_results(self) -> Results:
        assert self.miner is not None
        return self.miner.state.results

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            if self.stats is not None:
                self.stats.refresh()


def _log_failure(task: asyncio.Future[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("setting a job failed: %s", task.exception())
