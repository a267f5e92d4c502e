"""XMRig's command line as one table: every option of ``xmrig --help`` and where it goes.

Each option names its config key path (or a small action for pools), whether it takes a value
and how that value is checked, and whether xminer implements it.  Options are applied in the
order given, on top of the config file's JSON, so ``-o A -u X -o B -u Y`` makes two pools.
This module is data and its meaning; xminer.config.options reads argv with click.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from xminer import bench

Convert = Callable[[str], Any]


class OptionError(ValueError):
    """A bad command line: ``--threads: "abc": expected an integer 1..1024``."""

    def __init__(self, option: str, message: str) -> None:
        super().__init__(f"{option}: {message}")
        self.option = option


def _int(lo: int | None = None, hi: int | None = None) -> Convert:
    def convert(text: str) -> int:
        try:
            value = int(text, 0)
        except ValueError:
            value = None
        if value is None or (lo is not None and value < lo) or (hi is not None and value > hi):
            bounds = f" {lo}..{hi}" if lo is not None and hi is not None else ""
            raise ValueError(f"expected an integer{bounds}")
        return value

    return convert


def _text(text: str) -> str:
    return text


def _nonempty(text: str) -> str:
    if not text.strip():
        raise ValueError("expected a non-empty value")
    return text


def _size(text: str) -> str:
    try:
        bench.parse_bench_size(text)
    except ValueError as exc:
        raise ValueError(f"expected a size such as 1M or 250K ({exc})") from None
    return text


def _mask(text: str) -> int:
    try:
        value = int(text, 0)
    except ValueError:
        value = -2
    if value < -1:
        raise ValueError("expected a CPU mask such as 0x3 (CPUs 0 and 1), or -1")
    return value


def _platform(text: str) -> int | str:
    return int(text) if text.isdigit() else _nonempty(text)


def _mode(text: str) -> str:
    if text not in ("auto", "fast", "light"):
        raise ValueError('expected "auto", "fast" or "light"')
    return text


def _asm(text: str) -> bool | str:
    names = ("auto", "none", "intel", "ryzen", "bulldozer")
    if text not in names:
        raise ValueError("expected one of " + ", ".join(names))
    return {"auto": True, "none": False}.get(text, text)


def _wrmsr(text: str) -> bool | int:
    value = _int(-1)(text)
    return False if value == -1 else value


def _userpass(text: str) -> tuple[str, str]:
    if ":" not in text:
        raise ValueError("expected USER:PASSWORD")
    user, _, password = text.partition(":")
    return user, password


class Overrides:
    """Applies options to a config document (a JSON dict), remembering which option set what."""

    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body
        self.touched: list[tuple[str, str]] = []  # (config key path, option)
        self._pools_from_cli = False
        self.threads: int | None = None
        self.affinity: int | None = None
        self.flags: dict[str, Any] = {}  # options that are not config keys (--dry-run ...)

    def set(self, path: str, value: Any, option: str) -> None:
        node = self.body
        keys = path.split(".")
        for key in keys[:-1]:
            if not isinstance(node.get(key), dict):
                node[key] = {}
            node = node[key]
        node[keys[-1]] = value
        self.touched.append((path, option))

    def pool_set(self, key: str, value: Any, option: str) -> None:
        pools = self.body.get("pools")
        if not isinstance(pools, list) or not pools or not isinstance(pools[-1], dict):
            raise OptionError(option, "give a pool first with -o/--url")
        pools[-1][key] = value
        self.touched.append((f"pools[{len(pools) - 1}].{key}", option))

    def new_pool(self, url: str, option: str) -> None:
        if not self._pools_from_cli:
            self.body["pools"] = []  # pools on the command line replace the file's
            self._pools_from_cli = True
        self.body["pools"].append({"url": url, "user": "x"})
        self.touched.append((f"pools[{len(self.body['pools']) - 1}]", option))

    def option_for(self, path: str) -> str | None:
        """The option that set ``path`` (or a key above or below it), the last one wins."""
        for touched, option in reversed(self.touched):
            if path == touched or path.startswith((touched + ".", touched + "[")):
                return option
            if touched.startswith((path + ".", path + "[")):
                return option
        return None


Target = Callable[[Overrides, Any, str], None]


def at(path: str) -> Target:
    return lambda o, value, option: o.set(path, value, option)


def const(path: str, value: Any) -> Target:
    return lambda o, _, option: o.set(path, value, option)


def pool(key: str, value: Any = None) -> Target:
    def apply(o: Overrides, given: Any, option: str) -> None:
        o.pool_set(key, given if value is None else value, option)

    return apply


def flag(name: str) -> Target:
    def apply(o: Overrides, value: Any, option: str) -> None:
        o.flags[name] = value

    return apply


def http(path: str) -> Target:
    """XMRig turns the API on when any --http-* option is given."""

    def apply(o: Overrides, value: Any, option: str) -> None:
        o.set(path, value, option)
        o.set("http.enabled", True, option)

    return apply


def _url(o: Overrides, value: Any, option: str) -> None:
    o.new_pool(value, option)


def _userpass_target(o: Overrides, value: Any, option: str) -> None:
    o.pool_set("user", value[0], option)
    o.pool_set("pass", value[1], option)


def _threads(o: Overrides, value: Any, option: str) -> None:
    o.threads = value


def _affinity(o: Overrides, value: Any, option: str) -> None:
    o.affinity = value


def _bench(o: Overrides, value: Any, option: str) -> None:
    current = o.body.get("benchmark")
    if not isinstance(current, dict):
        o.set("benchmark", {"size": value, "algo": "rx/0"}, option)
    else:
        o.set("benchmark.size", value, option)


@dataclass(frozen=True)
class CliOption:
    names: tuple[str, ...]  # ("-o", "--url")
    target: Target
    convert: Convert | None = None  # None: a flag without a value
    implemented: bool = True
    help: str = ""
    metavar: str = "N"
    group: str = ""

    @property
    def long(self) -> str:
        return max(self.names, key=len)


@dataclass
class Table:
    options: list[CliOption] = field(default_factory=list)
    group: str = ""

    def add(
        self,
        names: str,
        target: Target,
        convert: Convert | None = None,
        help: str = "",
        implemented: bool = True,
        metavar: str = "N",
    ) -> None:
        opt = CliOption(
            tuple(n.strip() for n in names.split(",")),
            target,
            convert,
            implemented,
            help,
            metavar,
            self.group,
        )
        self.options.append(opt)

    def index(self) -> dict[str, CliOption]:
        return {name: o for o in self.options for name in o.names}


def build_table() -> Table:
    t = Table()
    a = t.add
    t.group = "Network"
    a("-o, --url", _url, _nonempty, "URL of mining server", metavar="URL")
    a("-a, --algo", pool("algo"), _nonempty, "mining algorithm", metavar="ALGO")
    a("--coin", pool("coin"), _nonempty, "specify coin instead of algorithm", metavar="COIN")
    a("-u, --user", pool("user"), _text, "username (wallet) for mining server", metavar="USER")
    a("-p, --pass", pool("pass"), _text, "password for mining server", metavar="PASSWORD")
    a("-O, --userpass", _userpass_target, _userpass, "username:password pair", metavar="U:P")
    a("-x, --proxy", pool("socks5"), _nonempty, "SOCKS5 proxy", False, "HOST:PORT")
    a("-k, --keepalive", pool("keepalive", True), None, "send keepalived packets")
    a("--nicehash", pool("nicehash", True), None, "enable nicehash.com support")
    a("--rig-id", pool("rig-id"), _text, "rig identifier for pool-side statistics", metavar="ID")
    a("--tls", pool("tls", True), None, "enable SSL/TLS support")
    a("--tls-fingerprint", pool("tls-fingerprint"), _nonempty, "pool TLS fingerprint", True, "HEX")
    a("-4, --ipv4", const("dns.ip_version", 4), None, "resolve names to IPv4", False)
    a("-6, --ipv6", const("dns.ip_version", 6), None, "resolve names to IPv6", False)
    a("--dns-ttl", at("dns.ttl"), _int(1, 86400), "TTL of the internal DNS cache", False)
    a("--daemon", pool("daemon", True), None, "use daemon RPC instead of pool (solo mining)")
    a("--daemon-zmq-port", pool("daemon-zmq-port"), _int(1, 65535), "daemon's zmq-pub port", False)
    a("--daemon-poll-interval", pool("daemon-poll-interval"), _int(1), "daemon poll interval, ms")
    a("--daemon-job-timeout", pool("daemon-job-timeout"), _int(1), "daemon job timeout, ms")
    a("--self-select", pool("self-select"), _nonempty, "self-select block templates", False, "URL")
    a("--submit-to-origin", pool("submit-to-origin", True), None, "also submit to origin", False)
    a("-r, --retries", at("retries"), _int(0, 1000), "retries before switching to backup pool")
    a("-R, --retry-pause", at("retry-pause"), _int(1, 3600), "seconds between retries")
    a("--user-agent", at("user-agent"), _text, "custom user-agent string for pool", metavar="UA")
    a("--donate-level", at("donate-level"), _int(0, 99), "accepted; xminer never donates")
    a("--donate-over-proxy", at("donate-over-proxy"), _int(0, 99), "accepted; ignored", False)

    t.group = "CPU backend"
    a("--no-cpu", const("cpu.enabled", False), None, "disable CPU mining backend")
    a("-t, --threads", _threads, _int(1, 1024), "number of CPU threads")
    a("--cpu-affinity", _affinity, _mask, "pin threads to CPUs, mask 0x3 = CPUs 0 and 1")
    a("-v, --av", flag("av"), _int(0), "algorithm variation", False)
    a("--cpu-priority", at("cpu.priority"), _int(0, 5), "thread priority, 0 idle .. 5 highest")
    a("--cpu-max-threads-hint", at("cpu.max-threads-hint"), _int(1, 100), "max threads, percent")
    a("--cpu-memory-pool", at("cpu.memory-pool"), _int(-1), "2 MB pages for memory pool", False)
    a("--cpu-no-yield", const("cpu.yield", False), None, "prefer hashrate to response", False)
    a("--huge-pages", const("cpu.huge-pages", True), None, "use huge pages (default)")
    a("--no-huge-pages", const("cpu.huge-pages", False), None, "disable huge pages support")
    a("--hugepage-size", at("cpu.huge-pages"), _int(1), "custom huge page size in kB", False)
    a("--huge-pages-jit", const("cpu.huge-pages-jit", True), None, "huge pages for JIT", False)
    a("--asm", at("cpu.asm"), _asm, "ASM optimizations", False, "ASM")
    a("--argon2-impl", at("cpu.argon2-impl"), _nonempty, "argon2 implementation", False, "IMPL")
    a("--randomx-init", at("randomx.init"), _int(-1, 1024), "threads that build the dataset")
    a("--randomx-no-numa", const("randomx.numa", False), None, "disable NUMA support", False)
    a("--randomx-mode", at("randomx.mode"), _mode, "auto, fast (2 GiB dataset) or light", True)
    a("--randomx-1gb-pages", const("randomx.1gb-pages", True), None, "1 GB pages", False)
    a("--randomx-wrmsr", at("randomx.wrmsr"), _wrmsr, "MSR values, -1 disables", False)
    a("--randomx-no-rdmsr", const("randomx.rdmsr", False), None, "keep MSR on exit", False)
    a("--randomx-cache-qos", const("randomx.cache_qos", True), None, "Cache QoS", False)

    t.group = "OpenCL backend"
    a("--opencl", const("opencl.enabled", True), None, "enable OpenCL mining backend")
    a("--opencl-devices", at("opencl.devices-hint"), _nonempty, "OpenCL devices, comma list")
    a("--opencl-platform", at("opencl.platform"), _platform, "OpenCL platform index or name")
    a("--opencl-loader", at("opencl.loader"), _nonempty, "path to OpenCL-ICD-Loader", True, "PATH")
    a("--opencl-no-cache", const("opencl.cache", False), None, "disable OpenCL cache")
    a("--print-platforms", flag("print-platforms"), None, "print OpenCL platforms and exit")

    t.group = "CUDA backend"
    a("--cuda", const("cuda.enabled", True), None, "enable CUDA mining backend")
    a("--cuda-loader", at("cuda.loader"), _nonempty, "path to CUDA plugin", True, "PATH")
    a("--cuda-devices", at("cuda.devices-hint"), _nonempty, "CUDA devices, comma list")
    a("--cuda-bfactor-hint", at("cuda.bfactor-hint"), _int(0, 12), "bfactor hint (0-12)")
    a("--cuda-bsleep-hint", at("cuda.bsleep-hint"), _int(0), "bsleep hint")
    a("--no-nvml", const("cuda.nvml", False), None, "disable NVML support")

    t.group = "API"
    a("--api-worker-id", at("api.worker-id"), _text, "custom worker-id for API", metavar="ID")
    a("--api-id", at("api.id"), _text, "custom instance ID for API", metavar="ID")
    a("--http-host", http("http.host"), _nonempty, "bind host for HTTP API", metavar="HOST")
    a("--http-port", http("http.port"), _int(0, 65535), "bind port for HTTP API (0 = any)")
    a("--http-access-token", http("http.access-token"), _text, "access token", metavar="T")
    a("--http-no-restricted", const("http.restricted", False), None, "full remote access")

    t.group = "TLS"
    for name, key in (
        ("gen", "gen"),
        ("cert", "cert"),
        ("cert-key", "cert_key"),
        ("dhparam", "dhparam"),
        ("protocols", "protocols"),
        ("ciphers", "ciphers"),
        ("ciphersuites", "ciphersuites"),
    ):
        a(f"--tls-{name}", at(f"tls.{key}"), _nonempty, f"API TLS {name}", False, "S")

    t.group = "Logging"
    a("-S, --syslog", const("syslog", True), None, "use system log for output messages")
    a("-l, --log-file", at("log-file"), _nonempty, "log all output to a file", metavar="FILE")
    a("--print-time", at("print-time"), _int(0, 86400), "print hashrate every N seconds")
    a("--health-print-time", at("health-print-time"), _int(0, 86400), "health report period")
    a("--no-color", const("colors", False), None, "disable colored output")
    a("--verbose", const("verbose", 1), None, "verbose output")
    a("--title", at("title"), _text, "terminal title (xminer)", metavar="TEXT")
    a("--no-title", const("title", False), None, "leave the terminal title alone")

    t.group = "Misc"
    a("-c, --config", flag("config"), _nonempty, "load a JSON configuration file", True, "FILE")
    a("-B, --background", const("background", True), None, "run in the background", False)
    a("-V, --version", flag("version"), None, "output version information and exit")
    a("-h, --help", flag("help"), None, "display this help and exit")
    a("--dry-run", flag("dry-run"), None, "test configuration and exit (0 valid, 1 not)")
    a("--print-config", flag("print-config"), None, "print the effective configuration and exit")
    a("--export-topology", flag("export-topology"), None, "export hwloc topology", False)
    a("--pause-on-battery", const("pause-on-battery", True), None, "pause on battery power")
    a("--pause-on-active", at("pause-on-active"), _int(0), "pause while user is active", False)
    a("--stress", flag("stress"), None, "continuous stress test", False)
    a("--bench", _bench, _size, "benchmark: 250K, 500K, 1M..10M or a count", metavar="N")
    a("--submit", const("benchmark.submit", True), None, "submit benchmark result", False)
    a("--verify", at("benchmark.verify"), _nonempty, "verify benchmark by ID", False, "ID")
    a("--seed", at("benchmark.seed"), _nonempty, "custom RandomX seed for benchmark", False)
    a("--hash", at("benchmark.hash"), _nonempty, "compare benchmark result with hash", False)
    a("--token", at("benchmark.token"), _nonempty, "benchmark token", False)
    a("--no-dmi", const("dmi", False), None, "disable DMI/SMBIOS reader")
    return t


TABLE = build_table()


@dataclass
class Parsed:
    """The command line in the order given: (option, converted value) per occurrence."""

    given: list[tuple[CliOption, Any]] = field(default_factory=list)

    def has(self, flag_name: str) -> bool:
        return any(o.long == f"--{flag_name}" for o, _ in self.given)

    def value(self, flag_name: str) -> Any:
        found = [v for o, v in self.given if o.long == f"--{flag_name}"]
        return found[-1] if found else None

    def not_implemented(self) -> list[str]:
        seen: list[str] = []
        for opt, _ in self.given:
            if not opt.implemented and opt.long not in seen:
                seen.append(opt.long)
        return seen


def apply(parsed: Parsed, body: dict[str, Any]) -> Overrides:
    """The options, in command-line order, on top of a config document (changed in place)."""
    overrides = Overrides(body)
    for opt, value in parsed.given:
        opt.target(overrides, value, opt.long)
    return overrides
