"""The work source for pools and daemons: failover in order, back to the first when it returns."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from xminer.config.model import Pool
from xminer.job import Job, Result
from xminer.net.daemon import DaemonConnection
from xminer.net.stats import ResultStats
from xminer.net.stratum import StratumConnection
from xminer.net.upstream import Upstream, UpstreamError
from xminer.state import Results

if TYPE_CHECKING:
    from xminer.miner import Miner

log = logging.getLogger("xminer.net")
SEEN_LIMIT = 65536
MIN_RETRY_PAUSE = 0.1  # seconds: no retry loop spins, whatever it is given
SETTLE_TIME = 1.0  # seconds a stop waits for replies to shares in flight
STOP_WAIT = 2.0  # seconds a stop waits for its tasks to end


@dataclass(frozen=True)
class ClientOptions:
    retries: int = 5  # failed attempts on one pool before the next one
    retry_pause: float = 5.0  # seconds between attempts
    connect_timeout: float = 10.0  # connect + login
    response_timeout: float = 20.0  # a request unanswered this long drops the pool (XMRig)

    @property
    def pause(self) -> float:
        return max(MIN_RETRY_PAUSE, self.retry_pause)


class Stopped(Exception):
    """The client is stopping: a loop noticed between two steps."""


class PoolClient:
    """A ``WorkSource`` over ``pools`` (enabled ones, in order) with XMRig's failover.

    A pool gets ``retries`` attempts ``retry_pause`` seconds apart, then the next one is tried
    (after the last, the first again).  While a backup pool is active, the pools before it are
    probed every ``retry_pause`` seconds; the first that logs in again becomes active.
    """

    def __init__(self, pools: list[Pool], options: ClientOptions | None = None) -> None:
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
        self._stopping = False
        self._submitted: OrderedDict[tuple[str, str, int], None] = OrderedDict()
        self.duplicates = 0  # shares not sent because they had been sent already
        self.switches: list[str] = []  # pool addresses in the order they became active

    # ---- WorkSource ------------------------------------------------------------------------
    async def start(self, miner: Miner) -> None:
        self.miner = miner
        self._stopping = False
        self.stats = ResultStats(miner.state)
        self._task = asyncio.ensure_future(self._run())
        self._ticker = asyncio.ensure_future(self._tick())

    async def submit(self, result: Result) -> None:
        up = self.active
        job = result.job
        if self._stopping:
            log.debug("share %08x of job %s: not sent, stopping", result.nonce, job.job_id)
            return
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
        """Bounded in every state: replies to shares in flight get SETTLE_TIME s, the
        connection is closed, the loops get STOP_WAIT s to end (and end by themselves at
        their next step if a cancellation was lost)."""
        self._stopping = True
        up = self.active
        if up is not None:
            await up.settle(SETTLE_TIME)
            await up.close()
        tasks = [t for t in (self._task, self._ticker) if t is not None]
        for task in tasks:
            task.cancel()
        if tasks:
            _, stuck = await asyncio.wait(tasks, timeout=STOP_WAIT)
            if stuck:
                log.warning("the pool client did not stop within %g s", STOP_WAIT)
        self._task = self._ticker = None
        self.active = None
        if self.stats is not None:
            self.stats.closed()

    # ---- the failover loop -----------------------------------------------------------------
    async def _run(self) -> None:
        try:
            while True:
                try:
                    await self._failover()
                except Stopped:
                    raise
                except Exception:  # a bug must not end mining for good: log it, start over
                    log.exception("pool client failed, restarting it")
                    self._deactivate(lost=True)
                    await self._pause()
        except Stopped:
            return

    async def _pause(self) -> None:
        """retry-pause seconds (never less than MIN_RETRY_PAUSE); ``Stopped`` when stopping."""
        await asyncio.sleep(self.options.pause)
        if self._stopping:
            raise Stopped

    async def _failover(self) -> None:
        up = await self._connect_from(0)
        while True:
            try:
                await self._activate(up)
                switch_to = await self._supervise(up)
            finally:
                await up.close()
            if self._stopping:
                raise Stopped
            if switch_to is not None:
                log.info("%s is back, switching from %s", switch_to.name, up.name)
                self._deactivate(lost=False)
                up = switch_to
                continue
            self._deactivate(lost=True)
            await self._pause()
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
                    await self._pause()
            if self._stopping:
                raise Stopped
            index = (index + 1) % len(self.pools)
            if index == 0:
                await self._pause()
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
        if self._stopping:
            raise Stopped
        settings = self.pools[index]
        self._serial += 1
        cls = DaemonConnection if settings.use_daemon else StratumConnection
        kwargs = {} if settings.use_daemon else {"response_timeout": self.options.response_timeout}
        up = cls(
            settings,
            index,
            self._serial,
            self.stats,
            self._on_job,
            self.options.connect_timeout,
            **kwargs,
        )
        try:
            await up.open()
        except BaseException:  # cancelled or a bug: the socket is not left behind
            await up.close()
            raise
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
        # a probe that logged in is used, even one that did so just as serve() ended
        if probe is not None and probe.done() and not probe.cancelled() and not probe.exception():
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
            await self._pause()
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
