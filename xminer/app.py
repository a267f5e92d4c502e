"""The running program around the miner: the config manager and its live changes, the HTTP
API, the keyboard, the file watcher, the battery watch, the console reports, signals and the
stop watchdog.  ``cli.py`` builds an ``App`` from the command line and runs it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import threading
from typing import TYPE_CHECKING

from xminer.api.host import MinerControls
from xminer.bench import BENCH_POOL, BenchmarkSource
from xminer.config.manager import ConfigManager, ConfigWatcher
from xminer.config.model import Config
from xminer.console.keys import health_lines, start_keyboard
from xminer.console.log import configure_logging, set_title
from xminer.console.power import watch_battery
from xminer.console.reports import every, print_health, print_speed
from xminer.miner import Miner, WorkSource
from xminer.version import APP_NAME, __version__

if TYPE_CHECKING:
    from xminer.api.server import ApiServer

log = logging.getLogger("xminer")
cfg_log = logging.getLogger("xminer.config")
signal_log = logging.getLogger("xminer.signal")

BIND_RETRY = 10.0  # seconds between attempts while the API's port is taken (as XMRig)
STOP_LIMIT = 10.0  # seconds from a signal to the end of the process, whatever hangs
WORK_KEYS = ("pools", "benchmark", "retries", "retry-pause")  # a change: another work source
LOGGING_KEYS = ("colors", "verbose", "log_file", "syslog")


def check_runnable(config: Config) -> None:
    """What the model alone cannot see (ValueError): the work source builds, every enabled
    pool's URL, wallet and options included (built and dropped; nothing connects)."""
    make_work_source(config)


def make_work_source(config: Config) -> WorkSource | None:
    """The benchmark in benchmark mode, else the stratum/daemon client for ``config.pools``."""
    if config.benchmark is not None and config.benchmark.size_hashes:
        return BenchmarkSource(config.benchmark.size_hashes)
    from xminer.net import create_work_source

    for i, pool in enumerate(config.pools):
        if pool.enabled:
            pool.check(f"pools[{i}]")  # named by their place in the config
    pools = [pool for pool in config.pools if pool.enabled]
    if not pools:
        return None
    return create_work_source(pools, config.retries, float(config.retry_pause))


class App(MinerControls):
    """One miner and everything around it; the host of its HTTP API (``api.host.ApiHost``)
    and what the console keys and the battery watch act on (``console.controls.Controls``):
    pause, resume and stop from ``MinerControls``."""

    def __init__(self, manager: ConfigManager, miner: Miner) -> None:
        self.manager = manager
        self.miner = miner
        self.api: ApiServer | None = None  # while the HTTP API runs
        self.banner_extra: list[tuple[str, str]] = []  # ("POOL #1", ...), ("HTTP API", ...)
        if manager.config.benchmark is not None:
            self.banner_extra.append(("POOL #1", f"{BENCH_POOL} algo rx/0"))
        self._tasks: set[asyncio.Future[None]] = set()

    # ---- controls (console keys, battery, JSON-RPC) ---------------------------------------
    @property
    def config_manager(self) -> ConfigManager:
        return self.manager

    # ---- running --------------------------------------------------------------------------
    async def run(self) -> int:
        """The miner with the keyboard, title, config watch, pause-on-battery and the API."""
        config = self.manager.config
        loop = asyncio.get_running_loop()
        self._install_signals(loop)
        keyboard = start_keyboard(self)
        if config.title:
            default = f"{APP_NAME} {__version__}"
            set_title(config.title if isinstance(config.title, str) else default)
        watcher = None
        if self.manager.path is not None and config.watch:
            watcher = ConfigWatcher(self.manager, dispatch=loop.call_soon_threadsafe).start()
        self.follow_config()
        if config.pause_on_battery:
            self._spawn(watch_battery(self))
        self.start_http_api()
        try:
            return await self.miner.run(on_started=self._started)
        finally:
            for task in list(self._tasks):
                task.cancel()
            if watcher is not None:
                watcher.stop()
            if keyboard is not None:
                keyboard.stop()
            if self.api is not None:
                await self.api.stop()

    def _spawn(self, coro: object) -> None:
        task = asyncio.ensure_future(coro)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _started(self, huge_pages: str) -> None:
        """The backends are built: the banner, then the periodic reports."""
        self.print_banner(huge_pages)
        miner = self.miner
        self._spawn(every(miner.finished, lambda: miner.config.print_time, self._print_speed))
        self._spawn(every(miner.finished, lambda: miner.config.health_print_time, self._health))

    def _print_speed(self) -> None:
        print_speed(self.miner.state)

    def _health(self) -> None:
        if not self.miner.stopped:
            print_health(health_lines(self.miner.state, sensed=True))

    def print_banner(self, huge_pages: str) -> None:
        from xminer.console.banner import banner_rows, print_banner
        from xminer.randomx.binding import library_path

        extra = [*self.banner_extra, ("COMMANDS", "hashrate, pause, resume, results, connection")]
        color = self.miner.config.colors and sys.stdout.isatty()
        print_banner(banner_rows(library_path(), huge_pages, extra), color)

    # ---- signals --------------------------------------------------------------------------
    def _install_signals(self, loop: asyncio.AbstractEventLoop) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # SIGHUP: as XMRig, a clean stop
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, self._on_signal, sig.name)

    def _on_signal(self, signame: str) -> None:
        if self.miner.finished.is_set():  # a second Ctrl-C / SIGTERM: do not wait any more
            signal_log.warning("%s received again, exiting now", signame)
            force_exit(0)
        signal_log.info("%s received, exiting", signame)
        self.miner.shutdown()
        # every stop step is bounded; should one still hang, the process ends anyway
        watchdog = threading.Timer(STOP_LIMIT, stop_overdue)
        watchdog.daemon = True
        watchdog.start()

    # ---- the HTTP API ---------------------------------------------------------------------
    def start_http_api(self) -> None:
        """The HTTP API when ``http.enabled`` (any --http-* option turns it on); a port that is
        taken is tried again every BIND_RETRY seconds while the miner runs."""
        from xminer.api import start_api
        from xminer.api.dashboard import dashboard_url

        config = self.manager.config
        http = config.http
        if not http.enabled or self.miner.finished.is_set() or self.api is not None:
            return
        try:
            self.api = start_api(self, http, config.api)
        except OSError as exc:
            log.error("HTTP API cannot listen on %s:%d: %s (next try in %.0f s)",
                      http.host, http.port, exc, BIND_RETRY)  # fmt: skip
            if not self.miner.finished.is_set():
                asyncio.get_running_loop().call_later(BIND_RETRY, self.start_http_api)
            return
        self.banner_extra.append(("HTTP API", f"{http.host}:{self.api.port}"))
        self.banner_extra.append(("DASHBOARD", dashboard_url(http.host, self.api.port)))

    # ---- live changes (file watch, PUT /2/config) -----------------------------------------
    def follow_config(self) -> None:
        """Every change of the configuration reaches the running miner; one the API could not
        follow (an address it cannot listen on) is refused first."""
        self.manager.add_check(self._api_can_follow)
        self.manager.on_change(self._apply_live)

    def _api_can_follow(self, config: Config) -> None:
        from xminer.api.server import check_move

        check_move(self.api, config.http)

    def _apply_live(self, old: Config, new: Config) -> None:
        """Console and print-time at once; backends, pools and the benchmark on the loop (see
        ``Miner.apply_config``)."""
        if any(getattr(old, k) != getattr(new, k) for k in LOGGING_KEYS):
            configure_logging(new)
        before, after = old.to_json(), new.to_json()
        changed = [k for k, v in after.items() if before.get(k) != v]
        cfg_log.info("config changed: %s", ", ".join(changed) or "nothing")
        self._follow_api(new)
        self._spawn(self._apply_to_miner(new, any(k in changed for k in WORK_KEYS)))

    def _follow_api(self, config: Config) -> None:
        """The http/api sections changed: the API takes them after this reply (or starts,
        when the file turned it on)."""
        if self.api is None:
            self.start_http_api()
        elif (config.http, config.api) != (self.api.http, self.api.api):
            self.api.schedule_rebind(config.http, config.api)

    async def _apply_to_miner(self, new: Config, work_changed: bool) -> None:
        pending = await self.miner.apply_config(new)
        if work_changed:
            try:
                source = make_work_source(new)
            except ValueError as exc:  # validated before; a pool that went bad in between
                cfg_log.error("%s (the running pools stay)", exc)
            else:
                await self.miner.replace_source(source)
        if pending:
            cfg_log.info("%s: takes effect after a restart", ", ".join(pending))


def stop_overdue() -> None:
    signal_log.error("not stopped within %g s, exiting now", STOP_LIMIT)
    force_exit(1)


def force_exit(code: int) -> None:
    """End the process now (threads, executor jobs and sockets left to the kernel)."""
    logging.shutdown()
    os._exit(code)
