"""Command line: XMRig's option names over XMRig's config.json, one-line errors, the miner.

Exit codes: 0 done (or --dry-run found the configuration valid); 1 a bad config file, or any
problem under --dry-run; 2 a bad command line (unknown option, bad value, nothing to do).
Every message is one line: ``xminer: --threads: "abc": expected an integer 1..1024`` or
``xminer: config.json: pools[1].url: "stratum+tcp//x": missing "://"``.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xminer import bench
from xminer.api.config import shown_json
from xminer.app import check_runnable, make_work_source
from xminer.backends.cpu.threads import config_algo, cpu_threads
from xminer.config.errors import ConfigError
from xminer.config.loader import display_name, find_config, parse, read_json, warn_unknown
from xminer.config.manager import ConfigManager, ConfigWatcher
from xminer.config.model import Config
from xminer.config.options import OptionError, Overrides, Parsed, apply, help_text, parse_argv
from xminer.config.profiles import CpuProfile
from xminer.console.log import set_title, setup_logging
from xminer.cpuinfo import CpuInfo
from xminer.miner import Miner
from xminer.version import APP_NAME, __version__

log = logging.getLogger("xminer")
cfg_log = logging.getLogger("xminer.config")

EXIT_CONFIG = 1
EXIT_USAGE = 2


class Failure(Exception):
    """A one-line error and its exit code."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Startup:
    """What the command line and the config file resolve to, before anything runs."""

    parsed: Parsed
    config: Config  # file + command line
    file_config: Config | None  # the file alone (what autosave writes back to)
    path: Path | None

    @property
    def dry_run(self) -> bool:
        return self.parsed.has("dry-run")


def load_file(parsed: Parsed) -> tuple[Path | None, dict[str, Any], Config | None]:
    given = parsed.value("config")
    path = Path(given) if given else find_config()
    if path is None:
        return None, {}, None
    try:
        body = read_json(path)
        return path, body, parse(body, display_name(path), allow_empty=True)
    except ConfigError as exc:
        raise Failure(f"{APP_NAME}: {exc}", EXIT_CONFIG) from None


def merge(parsed: Parsed, body: dict[str, Any], source: str) -> Config:
    """The file's document with the command line on top; ConfigError names the option if the
    bad value came from one (its ``source`` is then "--option"), else the file."""
    overrides = apply(parsed, copy.deepcopy(body))
    try:
        config = parse(overrides.body, source, allow_empty=True)
    except ConfigError as exc:
        option = overrides.option_for(exc.path)
        if option is None:
            raise
        raise ConfigError("", exc.value, exc.expected, option, exc.plain) from None
    config.cpu.override = cpu_override(overrides)
    return config


def apply_options(parsed: Parsed, body: dict[str, Any], source: str) -> Config:
    try:
        return merge(parsed, body, source)
    except ConfigError as exc:
        code = EXIT_USAGE if exc.source.startswith("-") else EXIT_CONFIG
        raise Failure(f"{APP_NAME}: {exc}", code) from None


def cpu_override(overrides: Overrides) -> CpuProfile | None:
    """-t N and --cpu-affinity MASK: XMRig's ``"*": {intensity, threads, affinity}`` profile."""
    if overrides.threads is None and overrides.affinity is None:
        return None
    mask = -1 if overrides.affinity is None else overrides.affinity
    raw = {"intensity": 1, "threads": overrides.threads, "affinity": mask}
    return CpuProfile(raw, count=overrides.threads, mask=mask)


def build(argv: list[str]) -> Startup | None:
    """Parse and check everything; None after --help or --version."""
    try:
        parsed = parse_argv(argv)
    except OptionError as exc:
        raise Failure(f"{APP_NAME}: {exc}", EXIT_USAGE) from None
    if parsed.has("help"):
        sys.stdout.write(help_text(APP_NAME))
        return None
    if parsed.has("version"):
        print(f"{APP_NAME} {__version__}")
        return None
    path, body, file_config = load_file(parsed)
    source = display_name(path) if path else "command line"
    try:
        config = apply_options(parsed, body, source)
    except OptionError as exc:
        raise Failure(f"{APP_NAME}: {exc}", EXIT_USAGE) from None
    return Startup(parsed, config, file_config, path)


def setup_console(config: Config, dry_run: bool = False) -> None:
    """Logging as the config asks; a dry run opens (and creates) no log file."""
    setup_logging(
        color=None if config.colors else False,
        verbose=config.verbose_level > 0,
        log_file=None if dry_run else config.log_file,
        syslog=config.syslog,
    )


def announce(startup: Startup) -> None:
    """Log lines that only matter once logging is up: unknown keys, unimplemented options."""
    if startup.path is not None:
        cfg_log.info("use config file %s", display_name(startup.path))
        if startup.file_config is not None:
            warn_unknown(startup.file_config, display_name(startup.path))
    for option in startup.parsed.not_implemented():
        cfg_log.warning("%s: accepted, but xminer does not implement it (ignored)", option)
    if startup.config.donate_level:
        cfg_log.info("donate-level %d: xminer does not donate", startup.config.donate_level)
    if startup.config.pause_on_active:
        cfg_log.warning("pause-on-active: not implemented on this platform (ignored)")


def check_work(config: Config) -> None:
    if config.benchmark is not None and config.benchmark.size_hashes:
        return
    if not any(pool.enabled for pool in config.pools):
        raise Failure(
            f"{APP_NAME}: nothing to mine: give a pool (-o URL -u WALLET) or --bench=SIZE",
            EXIT_USAGE,
        )


def generated_profiles(config: Config, info: CpuInfo | None = None) -> Config | None:
    """A copy of ``config`` with the thread profile xminer generated (for autosave), or None.

    XMRig writes a generated RandomX profile as an array of affinities under the family name.
    """
    threads, generated = cpu_threads(config, info)
    if not generated:
        return None
    body = config.to_file_json()
    family = config_algo(config).split("/", 1)[0]
    body["cpu"].pop("max-threads-hint", None)
    body["cpu"][family] = [t.affinity for t in threads]
    if config.cpu.max_threads_hint not in (None, 100):
        body["cpu"]["max-threads-hint"] = config.cpu.max_threads_hint
    new = Config.from_json(body)
    new.has_pool_keys = config.has_pool_keys
    new.cpu.override = config.cpu.override
    return new


def autosave(startup: Startup, manager: ConfigManager) -> Config:
    """Thread profiles generated on first run go into the file (and the running config)."""
    config = startup.config
    running = generated_profiles(config) or config
    if startup.path is None or not config.autosave or startup.file_config is None:
        return running
    for_file = generated_profiles(startup.file_config)
    if for_file is not None:
        manager.save(for_file)
    return running


def run(startup: Startup) -> int:
    config = startup.config
    setup_console(config, startup.dry_run)
    announce(startup)
    if startup.parsed.has("print-config"):
        print(json.dumps(shown_json(config), indent=4))
        return 0
    if startup.parsed.has("print-platforms"):
        from xminer.backends.opencl.devices import platforms_listing

        print(platforms_listing(), end="")
        return 0
    try:
        check_work(config)
    except Failure as exc:
        if startup.dry_run:
            raise Failure(str(exc), EXIT_CONFIG) from None
        raise
    source = display_name(startup.path) if startup.path else "config"
    try:
        work = make_work_source(config)  # --dry-run too: the pools are checked as a run checks them
    except ValueError as exc:
        raise Failure(f"{APP_NAME}: {source}: {exc}", EXIT_CONFIG) from None
    if startup.dry_run:
        cfg_log.info("configuration OK (%d CPU threads)", len(cpu_threads(config)[0]))
        return 0
    manager = ConfigManager(
        config,
        startup.path,
        lambda body: merge(startup.parsed, body, source),
        check_runnable,
        shown_json,
    )
    manager.set(autosave(startup, manager), save=False)
    if work is None:
        raise Failure(f"{APP_NAME}: nothing to mine: no enabled pool and no --bench", 2)
    miner = Miner(manager.config, work)
    miner.config_manager = manager
    if config.benchmark is not None:
        miner.banner_extra.append(("POOL #1", f"{bench.BENCH_POOL} algo rx/0"))
    return asyncio.run(run_miner(miner, manager))


async def run_miner(miner: Miner, manager: ConfigManager) -> int:
    """The miner plus the console: keyboard, title, config watch, pause-on-battery."""
    from xminer.console.keys import start_keyboard
    from xminer.console.power import watch_battery

    config = manager.config
    loop = asyncio.get_running_loop()
    keyboard = start_keyboard(miner)
    if config.title:
        set_title(config.title if isinstance(config.title, str) else f"{APP_NAME} {__version__}")
    watcher = None
    if manager.path is not None and config.watch:
        watcher = ConfigWatcher(manager, dispatch=loop.call_soon_threadsafe).start()
    follow_config(miner, manager)
    battery = asyncio.ensure_future(watch_battery(miner)) if config.pause_on_battery else None
    start_http_api(miner, manager)
    try:
        return await miner.run()
    finally:
        if battery is not None:
            battery.cancel()
        if watcher is not None:
            watcher.stop()
        if keyboard is not None:
            keyboard.stop()


BIND_RETRY = 10.0  # seconds between attempts while the API's port is taken (as XMRig)


def start_http_api(miner: Miner, manager: ConfigManager) -> None:
    """The HTTP API when ``http.enabled`` (any --http-* option turns it on); a port that is
    taken is tried again every BIND_RETRY seconds while the miner runs."""
    from xminer.api import start_api
    from xminer.api.dashboard import dashboard_url

    http = manager.config.http
    if not http.enabled or miner.finished.is_set() or miner.api is not None:
        return
    try:
        server = start_api(miner, http, manager.config.api)
    except OSError as exc:
        log.error("HTTP API cannot listen on %s:%d: %s (next try in %.0f s)",
                  http.host, http.port, exc, BIND_RETRY)  # fmt: skip
        if not miner.finished.is_set():
            asyncio.get_running_loop().call_later(BIND_RETRY, start_http_api, miner, manager)
        return
    miner.banner_extra.append(("HTTP API", f"{http.host}:{server.port}"))
    miner.banner_extra.append(("DASHBOARD", dashboard_url(http.host, server.port)))


def follow_config(miner: Miner, manager: ConfigManager) -> None:
    """Every change of the configuration (file watch, PUT /2/config) reaches the running miner;
    one the API could not follow (an address it cannot listen on) is refused first."""
    from xminer.api.server import check_move

    def api_can_follow(config: Config) -> None:
        check_move(miner.api, config.http)

    manager.add_check(api_can_follow)
    manager.on_change(lambda old, new: apply_live(miner, old, new))


def apply_live(miner: Miner, old: Config, new: Config) -> None:
    """A changed config (file watch, PUT /2/config) while running: console and print-time at
    once; backends, pools and the benchmark on the loop (see ``Miner.apply_settings``)."""
    if (old.colors, old.verbose, old.log_file, old.syslog) != (
        new.colors,
        new.verbose,
        new.log_file,
        new.syslog,
    ):
        setup_console(new)
    before, after = old.to_json(), new.to_json()
    changed = [k for k, v in after.items() if before.get(k) != v]
    cfg_log.info("config changed: %s", ", ".join(changed) or "nothing")
    follow_api(miner, new)
    work_changed = any(k in changed for k in WORK_KEYS)
    task = asyncio.ensure_future(apply_to_miner(miner, new, work_changed))
    _live_tasks.add(task)
    task.add_done_callback(_live_tasks.discard)


def follow_api(miner: Miner, config: Config) -> None:
    """The http/api sections changed: the API takes its new sections after this reply (or
    starts, when the file turned it on)."""
    if miner.api is None:
        if miner.config_manager is not None:
            start_http_api(miner, miner.config_manager)
        return
    if (config.http, config.api) != (miner.api.http, miner.api.api):
        miner.api.schedule_rebind(config.http, config.api)


WORK_KEYS = ("pools", "benchmark", "retries", "retry-pause")
_live_tasks: set[asyncio.Future[None]] = set()


async def apply_to_miner(miner: Miner, new: Config, work_changed: bool) -> None:
    pending = await miner.apply_config(new)
    if work_changed:
        try:
            source = make_work_source(new)
        except ValueError as exc:  # validated before; a pool that went bad in between
            cfg_log.error("%s (the running pools stay)", exc)
        else:
            await miner.replace_source(source)
    if pending:
        cfg_log.info("%s: takes effect after a restart", ", ".join(pending))


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    dry_run = "--dry-run" in args
    try:
        startup = build(args)
        code = 0 if startup is None else run(startup)
    except Failure as exc:
        print(str(exc), file=sys.stderr)
        code = EXIT_CONFIG if dry_run else exc.code
    except KeyboardInterrupt:
        code = 0
    except BrokenPipeError:  # xminer --print-config | head
        code = 0
    sys.exit(code)
