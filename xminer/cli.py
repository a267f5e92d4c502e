"""Command line: XMRig's option names over XMRig's config.json, one-line errors, the App.

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

from xminer.api.config import shown_json
from xminer.app import App, check_runnable, make_work_source
from xminer.backends.cpu.threads import config_algo, cpu_threads
from xminer.config.errors import ConfigError
from xminer.config.loader import display_name, find_config, parse, read_json, warn_unknown
from xminer.config.manager import ConfigManager
from xminer.config.model import Config
from xminer.config.options import OptionError, Overrides, Parsed, apply, help_text, parse_argv
from xminer.config.profiles import CpuProfile, CpuThread
from xminer.console.log import configure_logging
from xminer.miner import Miner
from xminer.version import APP_NAME, __version__

log = logging.getLogger("xminer")
cfg_log = logging.getLogger("xminer.config")

EXIT_CONFIG = 1
EXIT_USAGE = 2


class Failure(Exception):
    """A one-line error and its exit code (``main`` turns it into the process's status)."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Startup:
    """What the command line and the config file resolve to, before anything runs."""

    parsed: Parsed
    config: Config  # file + command line
    path: Path | None  # the config file, if any
    body: dict[str, Any]  # its document (empty without a file)
    source: str  # its display name, or "command line"

    @property
    def dry_run(self) -> bool:
        return self.parsed.has("dry-run")

    def file_config(self) -> Config:
        """The file alone (what autosave writes back to)."""
        try:
            return parse(self.body, self.source, allow_empty=True)
        except ConfigError as exc:
            raise Failure(f"{APP_NAME}: {exc}", EXIT_CONFIG) from None


def load_file(parsed: Parsed) -> tuple[Path | None, dict[str, Any]]:
    given = parsed.value("config")
    path = Path(given) if given else find_config()
    if path is None:
        return None, {}
    try:
        return path, read_json(path)
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
    """Parse the command line, read the file and merge them, once; None after --help or
    --version."""
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
    path, body = load_file(parsed)
    source = display_name(path) if path else "command line"
    try:
        config = apply_options(parsed, body, source)
    except OptionError as exc:
        raise Failure(f"{APP_NAME}: {exc}", EXIT_USAGE) from None
    return Startup(parsed, config, path, body, source)


def announce(startup: Startup) -> None:
    """Log lines that only matter once logging is up: unknown keys, unimplemented options."""
    if startup.path is not None:
        cfg_log.info("use config file %s", startup.source)
        warn_unknown(startup.config, startup.source)  # the options add no unknown key
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


def with_profile(config: Config, threads: list[CpuThread]) -> Config:
    """A copy of ``config`` with ``threads`` as its generated thread profile (for autosave).

    XMRig writes a generated RandomX profile as an array of affinities under the family name.
    """
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


def autosave(
    startup: Startup,
    manager: ConfigManager,
    planned: tuple[list[CpuThread], bool] | None = None,
) -> Config:
    """Thread profiles generated on first run go into the file (and the running config);
    ``planned``: the running config's ``cpu_threads`` when known already."""
    config = startup.config
    threads, generated = planned or cpu_threads(config)
    running = with_profile(config, threads) if generated else config
    if startup.path is None or not config.autosave:
        return running
    file_config = startup.file_config()
    file_threads, file_generated = cpu_threads(file_config)
    if file_generated:
        manager.save(with_profile(file_config, file_threads))
    return running


def run(startup: Startup) -> int:
    config = startup.config
    configure_logging(config, startup.dry_run)
    announce(startup)
    if startup.parsed.has("print-config"):
        print(json.dumps(shown_json(config), indent=4))
        return 0
    if startup.parsed.has("print-platforms"):
        from xminer.backends.opencl.devices import platforms_listing

        print(platforms_listing(), end="")
        return 0
    check_work(config)
    try:
        work = make_work_source(config)  # --dry-run too: the pools are checked as a run checks them
    except ValueError as exc:
        where = startup.source if startup.path else "config"
        raise Failure(f"{APP_NAME}: {where}: {exc}", EXIT_CONFIG) from None
    planned = cpu_threads(config)
    if startup.dry_run:
        cfg_log.info("configuration OK (%d CPU threads)", len(planned[0]))
        return 0
    if work is None:
        raise Failure(f"{APP_NAME}: nothing to mine: no enabled pool and no --bench", EXIT_USAGE)
    manager = ConfigManager(
        config,
        startup.path,
        lambda body: merge(startup.parsed, body, startup.source),
        check_runnable,
        shown_json,
    )
    manager.set(autosave(startup, manager, planned), save=False)
    return asyncio.run(App(manager, Miner(manager.config, work)).run())


def main(argv: list[str] | None = None) -> None:
    """The exit status, decided here alone: a Failure's code, 1 for any problem under
    --dry-run, 0 after Ctrl-C before the miner ran or a closed pipe (``| head``)."""
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
