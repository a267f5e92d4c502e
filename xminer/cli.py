"""Command line: XMRig's option names, one-line errors, the benchmark and the miner."""

from __future__ import annotations

import asyncio
import logging
import re
import sys
from typing import Any

import click

from xminer import bench
from xminer.api import ApiSettings, start_api
from xminer.backends.cpu import plan_threads
from xminer.console.log import setup_logging
from xminer.cpuinfo import cpu_info
from xminer.miner import BenchmarkSource, Miner, MinerSettings
from xminer.version import APP_NAME, __version__

log = logging.getLogger("xminer")


class BenchSize(click.ParamType):
    name = "size"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        try:
            return bench.parse_bench_size(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


class CpuMask(click.ParamType):
    name = "mask"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        try:
            mask = int(str(value), 0)
        except ValueError:
            self.fail(f"{value!r} is not a mask such as 0x3", param, ctx)
        if mask < 0:
            self.fail(f"{value!r} is negative", param, ctx)
        return mask


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name=APP_NAME)
@click.option("-t", "--threads", type=click.IntRange(1, 1024), help="number of CPU threads")
@click.option(
    "--cpu-max-threads-hint",
    type=click.IntRange(1, 100),
    default=100,
    help="maximum CPU threads as a percentage of the logical CPUs",
)
@click.option("--cpu-affinity", type=CpuMask(), help="pin threads to CPUs, mask 0x3 = CPUs 0 and 1")
@click.option("--cpu-priority", type=click.IntRange(0, 5), help="thread priority, 0 idle .. 5")
@click.option("--no-cpu", is_flag=True, help="disable the CPU backend")
@click.option("--opencl", is_flag=True, help="enable the OpenCL backend")
@click.option("--cuda", is_flag=True, help="enable the CUDA backend")
@click.option(
    "--randomx-mode",
    type=click.Choice(["auto", "fast", "light"]),
    default="auto",
    help="fast: 2 GiB dataset, light: 256 MiB cache only",
)
@click.option(
    "--randomx-init",
    type=click.IntRange(-1, 1024),
    default=-1,
    help="threads that build the dataset (-1 = all)",
)
@click.option("--huge-pages/--no-huge-pages", default=True, help="use huge pages")
@click.option(
    "--bench",
    "bench_size",
    type=BenchSize(),
    help="offline benchmark: 250K, 500K, 1M..10M, or a count such as 2000",
)
@click.option(
    "--print-time",
    type=click.IntRange(0, 3600),
    default=60,
    help="print the hashrate every N seconds (0 = never)",
)
@click.option("--no-color", is_flag=True, help="no colours in the console")
@click.option("--verbose", is_flag=True, help="more detail in the log")
@click.option("-l", "--log-file", type=click.Path(dir_okay=False), help="also log to FILE")
@click.option("--http-enabled", is_flag=True, help="serve the HTTP API")
@click.option("--http-host", help="API bind address (default 127.0.0.1)")
@click.option("--http-port", type=click.IntRange(0, 65535), help="API port (0 = any free port)")
@click.option("--http-access-token", help="Bearer token for the API")
@click.option("--http-no-restricted", is_flag=True, help="allow config changes and control")
@click.option("--api-id", help="fixed API instance id")
@click.option("--api-worker-id", help="API worker id (default: the host name)")
def command(**opts: Any) -> None:
    """xminer: a RandomX miner with XMRig's options, benchmark and HTTP API."""
    setup_logging(
        color=False if opts["no_color"] else None,
        verbose=opts["verbose"],
        log_file=opts["log_file"],
    )
    settings = settings_from_options(opts)
    source = BenchmarkSource(settings.bench_size) if settings.bench_size else None
    if source is None:
        raise click.UsageError("no work source: give --bench=SIZE (pools come with -o)")
    miner = Miner(settings, source)
    miner.banner_extra.append(("POOL #1", f"{bench.BENCH_POOL} algo rx/0"))
    sys.exit(asyncio.run(run_with_api(miner, api_settings_from_options(opts))))


def api_settings_from_options(opts: dict[str, Any]) -> ApiSettings:
    """Any --http-* option turns the API on, as in XMRig."""
    http = ("http_enabled", "http_host", "http_port", "http_access_token", "http_no_restricted")
    return ApiSettings(
        enabled=any(opts.get(k) not in (None, False) for k in http),
        host=opts.get("http_host") or "127.0.0.1",
        port=opts.get("http_port") or 0,
        access_token=opts.get("http_access_token"),
        restricted=not opts.get("http_no_restricted"),
        api_id=opts.get("api_id"),
        worker_id=opts.get("api_worker_id"),
    )


async def run_with_api(miner: Miner, api: ApiSettings) -> int:
    if api.enabled:
        try:
            start_api(miner, api)
        except OSError as exc:
            log.error("HTTP API cannot listen on %s:%d: %s", api.host, api.port, exc)
    return await miner.run()


def settings_from_options(opts: dict[str, Any]) -> MinerSettings:
    threads = plan_threads(
        cpu_info(), opts["threads"], opts["cpu_max_threads_hint"], opts["cpu_affinity"]
    )
    return MinerSettings(
        cpu_enabled=not opts["no_cpu"],
        cpu_threads=threads,
        cpu_priority=opts["cpu_priority"],
        opencl_enabled=opts["opencl"],
        cuda_enabled=opts["cuda"],
        randomx_mode=opts["randomx_mode"],
        randomx_init=opts["randomx_init"],
        huge_pages=opts["huge_pages"],
        print_time=opts["print_time"],
        bench_size=opts["bench_size"] or 0,
        color=False if opts["no_color"] else None,
    )


def one_line_error(exc: click.ClickException) -> str:
    """Click's message without the usage block: 'xminer: --threads: 'abc' is not ...'."""
    message = re.sub(r"^Invalid value for [^:]*: ", "", exc.format_message().replace("\n", " "))
    param = getattr(exc, "param", None)
    if param is not None and getattr(param, "opts", None):
        return f"{APP_NAME}: {max(param.opts, key=len)}: {message}"
    return f"{APP_NAME}: {message}"


def main(argv: list[str] | None = None) -> None:
    try:
        command.main(args=argv, prog_name=APP_NAME, standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        print(one_line_error(exc), file=sys.stderr)
        sys.exit(exc.exit_code or 2)
    except click.exceptions.Abort:
        sys.exit(0)
    except KeyboardInterrupt:
        sys.exit(0)
