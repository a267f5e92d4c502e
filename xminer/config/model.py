"""The typed model of XMRig's config.json (SCHEMA.md §6), one dataclass per object.

Field order is XMRig's key order, so ``Config.to_json()`` is what ``GET /2/config`` returns.
Keys xminer does not model are kept (``extra``) and written back where they were given.
"""

# opt() returns dataclasses.field(...) with the key and check in its metadata
# ruff: noqa: RUF009

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

from xminer.config.errors import MISSING, ConfigError, join
from xminer.config.fields import (
    ANY,
    BOOL,
    NONEMPTY,
    STR,
    Check,
    Section,
    choice,
    either,
    integer,
    list_of,
    nullable,
    opt,
    section,
)
from xminer.config.profiles import CpuProfile, find_profile, parse_profile
from xminer.config.sizes import parse_bench_size
from xminer.config.url import PoolUrl, check_wallet, normalize_fingerprint, parse_url

ALGO = nullable(NONEMPTY)
PATH_OR_NULL = nullable(STR)


@dataclass
class Api(Section):
    id: str | None = opt("id", nullable(STR))
    worker_id: str | None = opt("worker-id", nullable(STR))


@dataclass
class Http(Section):
    enabled: bool = opt("enabled", BOOL, False)
    host: str = opt("host", NONEMPTY, "127.0.0.1")
    port: int = opt("port", integer(0, 65535), 0)
    access_token: str | None = opt("access-token", nullable(STR))
    restricted: bool = opt("restricted", BOOL, True)

    @property
    def auth_required(self) -> bool:
        """XMRig: a token set, or unrestricted mode (which then locks out everyone)."""
        return not self.restricted or self.access_token is not None


@dataclass
class RandomX(Section):
    init: int = opt("init", integer(-1, 1024), -1)
    init_avx2: int = opt("init-avx2", integer(-1, 1), -1)
    mode: str = opt("mode", choice("auto", "fast", "light"), "auto")
    one_gb_pages: bool = opt("1gb-pages", BOOL, False)
    rdmsr: bool = opt("rdmsr", BOOL, True)
    wrmsr: Any = opt("wrmsr", either(BOOL, integer(-1), list_of(ANY)), True)
    cache_qos: bool = opt("cache_qos", BOOL, False)
    numa: Any = opt("numa", either(BOOL, list_of(integer(0))), True)
    scratchpad_prefetch_mode: int = opt("scratchpad_prefetch_mode", integer(0, 3), 1)
    # xminer's own: false turns off building an announced next seed ahead (unset: on)
    seed_ahead: bool | None = opt("seed-ahead", nullable(BOOL), None, hidden_if_none=True)


HUGE_PAGES = either(BOOL, integer(1))
ASM = either(BOOL, choice("auto", "none", "intel", "ryzen", "bulldozer"))


@dataclass
class Cpu(Section):
    enabled: bool = opt("enabled", BOOL, True)
    huge_pages: bool | int = opt("huge-pages", HUGE_PAGES, True)
    huge_pages_jit: bool = opt("huge-pages-jit", BOOL, False)
    hw_aes: bool | None = opt("hw-aes", nullable(BOOL))
    priority: int | None = opt("priority", nullable(integer(0, 5)))
    memory_pool: bool | int = opt("memory-pool", either(BOOL, integer(-1)), False)
    yield_: bool = opt("yield", BOOL, True)
    max_threads_hint: int | None = opt(
        "max-threads-hint", integer(1, 100), None, hidden_if_none=True
    )
    asm: bool | str = opt("asm", ASM, True)
    argon2_impl: str | None = opt("argon2-impl", nullable(STR))
    # -t/--cpu-affinity from the command line: used before any profile, never saved
    override: CpuProfile | None = field(default=None, repr=False, compare=False)
    unknown_ok: ClassVar[bool] = True

    def parse_extra(self, extra: dict[str, Any], path: str) -> dict[str, Any]:
        for key, value in extra.items():
            if not key.startswith("_"):
                parse_profile(value, join(path, key))
        return dict(extra)

    @property
    def profiles(self) -> dict[str, CpuProfile]:
        return {k: parse_profile(v, k) for k, v in self.extra.items() if not k.startswith("_")}

    def profile(self, algo: str) -> CpuProfile | None:
        return find_profile(self.profiles, algo)

    def to_json(self) -> dict[str, Any]:
        out = super().to_json()
        if not self.profiles and "max-threads-hint" not in out:
            # XMRig shows the hint only while no thread profile exists yet
            keys = list(out)
            at = keys.index("asm")
            items = list(out.items())
            items.insert(at, ("max-threads-hint", 100))
            out = dict(items)
        return out


# Thread entries of a GPU profile ("rx": [{...}, ...]): the keys xminer reads, checked; others
# (XMRig's for other algorithms: unroll, strided_index, ...) are kept as they are.
OPENCL_THREAD_KEYS = {
    "index": integer(0), "intensity": integer(1), "worksize": integer(1),
    "threads": list_of(integer(-1)), "bfactor": integer(0, 12), "gcn_asm": BOOL,
    "dataset_host": BOOL, "affinity": integer(-1),
}  # fmt: skip
CUDA_THREAD_KEYS = {
    "index": integer(0), "threads": integer(1, 1024), "blocks": integer(1),
    "intensity": integer(1), "bfactor": integer(0, 12), "bsleep": integer(0),
    "affinity": integer(-1), "dataset_host": BOOL,
}  # fmt: skip


def _gpu_profiles(extra: dict[str, Any], path: str, checks: dict[str, Check]) -> dict[str, Any]:
    for key, value in extra.items():
        if key.startswith("_"):
            continue
        where = join(path, key)
        if not (value is False or isinstance(value, list | str | dict)):
            raise ConfigError(where, value, "expected a list of GPU threads, false or an alias")
        for i, entry in enumerate(value if isinstance(value, list) else []):
            if not isinstance(entry, dict):
                raise ConfigError(join(where, i), entry, "expected a thread object")
            for name, check in checks.items():
                if name in entry:
                    check(entry[name], join(join(where, i), name))
    return dict(extra)


#: XMRig's thread profiles for Monero's RandomX in a GPU section, most specific first
GPU_PROFILE_KEYS = ("rx/0", "rx")


class GpuSection(Section):
    """What the opencl and cuda sections share: the device choice and the thread profile."""

    devices_hint: Any

    def devices(self) -> list[int | str] | None:
        """--opencl-devices / --cuda-devices ("devices-hint", or the older "devices"): device
        indexes ("0,1", [0, 1] or 0), or OpenCL "platform:device" keys ("0:1"); None = all.
        ValueError for an index that is not a number."""
        wanted = self.devices_hint if self.devices_hint is not None else self.extra.get("devices")
        if wanted is None or wanted == "" or wanted == []:
            return None
        if isinstance(wanted, int | str):
            wanted = str(wanted).replace(" ", "").split(",")
        out: list[int | str] = []
        for item in wanted:
            text = str(item).strip()
            if text:
                out.append(text if ":" in text else int(text))
        return out

    def threads_profile(self) -> list[dict[str, Any]] | None:
        """The thread entries of the RandomX profile, string aliases ("rx/0": "rx") followed;
        [] for ``false``; None when the section has no profile."""
        for key in GPU_PROFILE_KEYS:
            value = self.extra.get(key)
            seen = {key}
            while isinstance(value, str) and value not in seen:
                seen.add(value)
                value = self.extra.get(value)
            if value is False:
                return []
            if isinstance(value, list):
                return [dict(v) for v in value if isinstance(v, dict)]
        return None


@dataclass
class OpenCl(GpuSection):
    enabled: bool = opt("enabled", BOOL, False)
    cache: bool = opt("cache", BOOL, True)
    loader: str | None = opt("loader", PATH_OR_NULL)
    platform: int | str = opt("platform", either(integer(0), NONEMPTY), "AMD")
    adl: bool = opt("adl", BOOL, True)
    devices_hint: Any = opt("devices-hint", ANY, None, hidden_if_none=True)
    unknown_ok: ClassVar[bool] = True

    def parse_extra(self, extra: dict[str, Any], path: str) -> dict[str, Any]:
        return _gpu_profiles(extra, path, OPENCL_THREAD_KEYS)


@dataclass
class Cuda(GpuSection):
    enabled: bool = opt("enabled", BOOL, False)
    loader: str | None = opt("loader", PATH_OR_NULL)
    nvml: bool | str = opt("nvml", either(BOOL, NONEMPTY), True)
    devices_hint: Any = opt("devices-hint", ANY, None, hidden_if_none=True)
    bfactor_hint: int | None = opt("bfactor-hint", integer(0, 12), None, hidden_if_none=True)
    bsleep_hint: int | None = opt("bsleep-hint", integer(0), None, hidden_if_none=True)
    unknown_ok: ClassVar[bool] = True

    def parse_extra(self, extra: dict[str, Any], path: str) -> dict[str, Any]:
        return _gpu_profiles(extra, path, CUDA_THREAD_KEYS)


def check_url(url: str, path: str) -> str:
    """``[scheme://]host:port`` (see :mod:`xminer.config.url`), or ConfigError naming the key."""
    try:
        parse_url(url)
    except ValueError as exc:
        raise ConfigError(path, url, str(exc)) from None
    return url


URL = Check("a URL such as stratum+tcp://host:port", lambda v: isinstance(v, str), check_url)
KEEPALIVE = either(BOOL, integer(1))
STRATUM_ONLY = ("pass", "rig-id", "nicehash", "keepalive")
DEFAULT_KEEPALIVE = 60.0  # seconds, as XMRig's "keepalive": true


@dataclass
class Pool(Section):
    algo: str | None = opt("algo", ALGO)
    coin: str | None = opt("coin", ALGO)
    url: str = opt("url", URL, "")
    user: str = opt("user", NONEMPTY, "")
    password: str | None = opt("pass", nullable(STR), "x")
    rig_id: str | None = opt("rig-id", nullable(STR))
    nicehash: bool = opt("nicehash", BOOL, False)
    keepalive: bool | int = opt("keepalive", KEEPALIVE, False)
    enabled: bool = opt("enabled", BOOL, True)
    tls: bool = opt("tls", BOOL, False)
    sni: bool = opt("sni", BOOL, False)
    tls_fingerprint: str | None = opt("tls-fingerprint", nullable(STR))
    daemon: bool = opt("daemon", BOOL, False)
    socks5: str | None = opt("socks5", nullable(STR))
    self_select: str | None = opt("self-select", nullable(STR))
    submit_to_origin: bool = opt("submit-to-origin", BOOL, False)
    daemon_poll_interval: int = opt("daemon-poll-interval", integer(1), 1000)
    daemon_job_timeout: int = opt("daemon-job-timeout", integer(1), 15000)
    daemon_zmq_port: int | None = opt(
        "daemon-zmq-port", integer(-1, 65535), None, hidden_if_none=True
    )
    spend_secret_key: str | None = opt("spend-secret-key", nullable(STR), None, hidden_if_none=True)

    @classmethod
    def from_json(cls, data: Any, path: str = "") -> Self:
        pool = super().from_json(data, path)
        for key in ("url", "user"):
            if key not in data:
                what = "a pool URL host:port" if key == "url" else "a wallet address or user name"
                raise ConfigError(join(path, key), MISSING, f"expected {what}")
        return pool

    @property
    def endpoint(self) -> PoolUrl:
        """The URL's host, port and what its scheme asks for (TLS, daemon)."""
        return parse_url(self.url)

    @property
    def address(self) -> str:
        return self.endpoint.address

    @property
    def use_tls(self) -> bool:
        return self.tls or self.endpoint.tls or bool(self.tls_fingerprint)

    @property
    def use_daemon(self) -> bool:
        return self.daemon or self.endpoint.daemon

    @property
    def keepalive_seconds(self) -> float:
        """``true``: every 60 s (XMRig's), a number: every N seconds, ``false``: never."""
        if self.keepalive is True:
            return DEFAULT_KEEPALIVE
        if not self.keepalive:
            return 0.0
        return float(self.keepalive)

    @property
    def fingerprint(self) -> str | None:
        """``tls-fingerprint`` normalised (lower-case hex, no colons), None when not pinned."""
        return normalize_fingerprint(self.tls_fingerprint) if self.tls_fingerprint else None

    def check(self, where: str = "pool") -> None:
        """What a client needs beyond the model's checks: ValueError naming ``where.key``
        (``pools[0].url: "x": missing port``); nothing connects."""

        def fail(key: str, value: object, why: str) -> ValueError:
            return ValueError(f'{where}.{key}: "{value}": {why}')

        try:
            parse_url(self.url)
        except ValueError as exc:
            raise fail("url", self.url, str(exc)) from None
        if not self.user or any(c.isspace() or ord(c) < 32 for c in self.user):
            raise fail("user", self.user, "empty or contains whitespace")
        if self.use_daemon:
            try:
                check_wallet(self.user)
            except ValueError as exc:
                raise ValueError(f"{where}.user: {exc}") from None
            if not 50 <= self.daemon_poll_interval <= 3_600_000:
                raise fail(
                    "daemon-poll-interval", self.daemon_poll_interval, "must be 50..3600000 ms"
                )
        try:
            self.fingerprint  # noqa: B018 - normalised here to be checked
        except ValueError as exc:
            raise ValueError(f"{where}.tls-fingerprint: {exc}") from None
        if self.keepalive_seconds < 0:
            raise fail("keepalive", self.keepalive, "must be true, false or seconds > 0")
        if self.algo not in (None, "", "rx/0"):
            raise fail("algo", self.algo, "only rx/0 is supported")

    def to_json(self) -> dict[str, Any]:
        out = super().to_json()
        if self.daemon:
            for key in (*STRATUM_ONLY, "self-select", "submit-to-origin"):
                out.pop(key, None)
        else:
            for key in ("daemon-poll-interval", "daemon-job-timeout", "daemon-zmq-port"):
                out.pop(key, None)
        return out


def _check_size(value: Any, path: str) -> Any:
    if value is None:
        return value
    try:
        parse_bench_size(str(value))
    except ValueError as exc:
        raise ConfigError(path, value, f"expected a size such as 1M or 250K ({exc})") from None
    return value


BENCH_SIZE = Check(
    "a size such as 1M", lambda v: isinstance(v, str | int) and not isinstance(v, bool), _check_size
)


# XMRig benchmarks other algorithms too; xminer hashes RandomX (rx/0) only
BENCH_ALGO = Check('"rx/0" (the algorithm xminer benchmarks)', lambda v: v == "rx/0")


@dataclass
class Benchmark(Section):
    size: str | int | None = opt("size", nullable(BENCH_SIZE), "1M")
    algo: str = opt("algo", BENCH_ALGO, "rx/0")
    submit: bool = opt("submit", BOOL, False)
    verify: str | None = opt("verify", nullable(STR))
    token: str | None = opt("token", nullable(STR))
    seed: str | None = opt("seed", nullable(STR))
    user: str | None = opt("user", nullable(STR))
    hash: str | None = opt("hash", nullable(STR))

    @property
    def size_hashes(self) -> int:
        return parse_bench_size(str(self.size)) if self.size is not None else 0


@dataclass
class Tls(Section):
    enabled: bool = opt("enabled", BOOL, False)
    protocols: str | None = opt("protocols", nullable(STR))
    cert: str | None = opt("cert", nullable(STR))
    cert_key: str | None = opt("cert_key", nullable(STR))
    ciphers: str | None = opt("ciphers", nullable(STR))
    ciphersuites: str | None = opt("ciphersuites", nullable(STR))
    dhparam: str | None = opt("dhparam", nullable(STR))
    gen: str | None = opt("gen", nullable(STR), None, hidden_if_none=True)


@dataclass
class Dns(Section):
    ip_version: int = opt("ip_version", Check("0, 4 or 6", lambda v: v in (0, 4, 6)), 0)
    ttl: int = opt("ttl", integer(1), 30)


POOL_KEYS = ("donate-level", "donate-over-proxy", "pools", "retries", "retry-pause")
VERBOSE = either(BOOL, integer(0, 5))
PAUSE_ON_ACTIVE = either(BOOL, integer(0))
TITLE = either(BOOL, STR)
PRINT_TIME = integer(0, 86400)


@dataclass
class Config(Section):
    """The whole config.json."""

    api: Api = opt("api", section(Api), factory=Api)
    http: Http = opt("http", section(Http), factory=Http)
    autosave: bool = opt("autosave", BOOL, True)
    background: bool = opt("background", BOOL, False)
    colors: bool = opt("colors", BOOL, True)
    title: bool | str = opt("title", TITLE, True)
    randomx: RandomX = opt("randomx", section(RandomX), factory=RandomX)
    cpu: Cpu = opt("cpu", section(Cpu), factory=Cpu)
    opencl: OpenCl = opt("opencl", section(OpenCl), factory=OpenCl)
    cuda: Cuda = opt("cuda", section(Cuda), factory=Cuda)
    log_file: str | None = opt("log-file", nullable(STR))
    donate_level: int = opt("donate-level", integer(0, 99), 0)
    donate_over_proxy: int = opt("donate-over-proxy", integer(0, 99), 1)
    pools: list[Pool] = opt("pools", list_of(section(Pool), "a list of pool objects"), factory=list)
    retries: int = opt("retries", integer(0, 1000), 5)
    retry_pause: int = opt("retry-pause", integer(1, 3600), 5)
    benchmark: Benchmark | None = opt("benchmark", nullable(section(Benchmark)), None)
    print_time: int = opt("print-time", PRINT_TIME, 60)
    health_print_time: int = opt("health-print-time", PRINT_TIME, 60)
    dmi: bool = opt("dmi", BOOL, True)
    syslog: bool = opt("syslog", BOOL, False)
    tls: Tls = opt("tls", section(Tls), factory=Tls)
    dns: Dns = opt("dns", section(Dns), factory=Dns)
    user_agent: str | None = opt("user-agent", nullable(STR))
    verbose: bool | int = opt("verbose", VERBOSE, 0)
    watch: bool = opt("watch", BOOL, True)
    pause_on_battery: bool = opt("pause-on-battery", BOOL, False)
    pause_on_active: bool | int = opt("pause-on-active", PAUSE_ON_ACTIVE, False)
    has_pool_keys: bool = field(default=False, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Any, path: str = "") -> Self:
        config = super().from_json(data, path)
        config.has_pool_keys = any(k in data for k in POOL_KEYS)
        return config

    @property
    def benchmark_mode(self) -> bool:
        return self.benchmark is not None

    @property
    def verbose_level(self) -> int:
        return int(self.verbose)

    def to_json(self) -> dict[str, Any]:
        """XMRig's GET /2/config: the benchmark section replaces the pool keys in bench mode."""
        out = super().to_json()
        drop = POOL_KEYS if self.benchmark_mode else ("benchmark",)
        for key in drop:
            out.pop(key, None)
        return out

    def to_file_json(self) -> dict[str, Any]:
        """What is saved: like ``to_json`` but also keeps the pool keys beside a benchmark."""
        out = Section.to_json(self)
        if self.benchmark is None:
            out.pop("benchmark", None)
        elif not (self.has_pool_keys or self.pools):
            for key in POOL_KEYS:
                out.pop(key, None)
        return out

    def copy(self) -> Config:
        return Config.from_json(self.to_file_json())
