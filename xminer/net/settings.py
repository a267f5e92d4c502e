"""Pool settings (XMRig's ``pools[]`` entries) and their validation, with one-line errors."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

SCHEMES = {
    "stratum+tcp": (False, False),  # (tls, daemon)
    "stratum+ssl": (True, False),
    "stratum+tls": (True, False),
    "daemon+http": (False, True),
    "daemon+https": (True, True),
    "http": (False, True),
    "https": (True, True),
}
BASE58 = re.compile(r"^[1-9A-HJ-NP-Za-km-z]+$")
HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")
DEFAULT_KEEPALIVE = 60.0  # seconds, as XMRig's "keepalive": true


@dataclass(frozen=True)
class PoolUrl:
    host: str
    port: int
    tls: bool = False
    daemon: bool = False

    @property
    def address(self) -> str:
        """``host:port`` as XMRig reports ``connection.pool``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def parse_url(url: str) -> PoolUrl:
    """``stratum+tcp://h:p``, ``stratum+ssl://h:p``, ``daemon+http://h:p`` or plain ``h:p``."""
    text = url.strip()
    if not text:
        raise ValueError("empty")
    if any(c.isspace() for c in text):
        raise ValueError("contains whitespace")
    tls = daemon = False
    if "://" in text:
        scheme, text = text.split("://", 1)
        if scheme.lower() not in SCHEMES:
            known = ", ".join(f"{s}://" for s in SCHEMES)
            raise ValueError(f"unknown scheme {scheme}:// (use {known} or host:port)")
        tls, daemon = SCHEMES[scheme.lower()]
    text = text.rstrip("/")
    if "/" in text:
        raise ValueError("a pool URL has no path")
    host, port_text = _split_host_port(text)
    if not host:
        raise ValueError("missing host")
    return PoolUrl(host, _port(port_text), tls, daemon)


def _split_host_port(text: str) -> tuple[str, str]:
    if text.startswith("["):  # [IPv6]:port
        end = text.find("]")
        if end < 0:
            raise ValueError("unclosed [ in an IPv6 address")
        host, rest = text[1:end], text[end + 1 :]
        if not rest.startswith(":"):
            raise ValueError("missing port")
        return host, rest[1:]
    if ":" not in text:
        raise ValueError("missing port")
    host, port = text.rsplit(":", 1)
    if ":" in host:
        raise ValueError("an IPv6 address needs brackets: [::1]:3333")
    return host, port


def _port(text: str) -> int:
    if not text:
        raise ValueError("missing port")
    if not text.isdigit():
        raise ValueError(f"port {text!r} is not a number")
    port = int(text)
    if not 1 <= port <= 65535:
        raise ValueError(f"port {port} is out of range 1-65535")
    return port


def check_wallet(address: str) -> None:
    """A Monero address: base58, 95 characters (106 with a payment id)."""
    if not BASE58.match(address):
        raise ValueError(f"{address!r} is not a Monero address (base58 characters only)")
    if len(address) not in (95, 106):
        raise ValueError(f"{address!r} is not a Monero address: {len(address)} characters")


def normalize_fingerprint(text: str) -> str:
    """SHA-256 of the certificate (DER) in hex; colons allowed, case ignored."""
    value = text.replace(":", "").strip().lower()
    if not HEX64.match(value):
        raise ValueError(f"tls-fingerprint {text!r} is not a SHA-256 hex digest (64 hex digits)")
    return value


@dataclass(frozen=True)
class PoolSettings:
    """One entry of ``pools[]`` (XMRig's keys; ``tls-fingerprint`` → ``tls_fingerprint``)."""

    url: str
    user: str = "x"
    password: str = "x"
    rig_id: str | None = None
    nicehash: bool = False
    keepalive: bool | float = False  # true = every 60 s, a number = every N seconds
    enabled: bool = True
    tls: bool = False
    tls_fingerprint: str | None = None
    sni: bool = True
    daemon: bool = False
    daemon_poll_interval_ms: int = 1000
    algo: str | None = None

    @property
    def parsed(self) -> PoolUrl:
        return parse_url(self.url)

    @property
    def address(self) -> str:
        return self.parsed.address

    @property
    def use_tls(self) -> bool:
        return self.tls or self.parsed.tls or self.tls_fingerprint is not None

    @property
    def use_daemon(self) -> bool:
        return self.daemon or self.parsed.daemon

    @property
    def keepalive_seconds(self) -> float:
        if self.keepalive is True:
            return DEFAULT_KEEPALIVE
        if self.keepalive is False or self.keepalive is None:
            return 0.0
        return float(self.keepalive)

    def validated(self, where: str = "pool") -> PoolSettings:
        """Check every field; raise ``ValueError('pools[0].url: "x": missing port')``."""

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
            if not 50 <= self.daemon_poll_interval_ms <= 3_600_000:
                raise fail(
                    "daemon-poll-interval", self.daemon_poll_interval_ms, "must be 50..3600000 ms"
                )
        fingerprint = self.tls_fingerprint
        if fingerprint:
            try:
                fingerprint = normalize_fingerprint(fingerprint)
            except ValueError as exc:
                raise ValueError(f"{where}.tls-fingerprint: {exc}") from None
        if self.keepalive_seconds < 0:
            raise fail("keepalive", self.keepalive, "must be true, false or seconds > 0")
        if self.algo not in (None, "", "rx/0"):
            raise fail("algo", self.algo, "only rx/0 is supported")
        return replace(self, tls_fingerprint=fingerprint or None)


XMRIG_KEYS = {
    "url": "url",
    "user": "user",
    "pass": "password",
    "rig-id": "rig_id",
    "nicehash": "nicehash",
    "keepalive": "keepalive",
    "enabled": "enabled",
    "tls": "tls",
    "tls-fingerprint": "tls_fingerprint",
    "sni": "sni",
    "daemon": "daemon",
    "daemon-poll-interval": "daemon_poll_interval_ms",
    "algo": "algo",
}
IGNORED_KEYS = {"coin", "socks5", "self-select", "submit-to-origin", "daemon-zmq-port"}
IGNORED_KEYS |= {"daemon-job-timeout", "spend-secret-key"}


def pool_from_config(entry: dict[str, object], where: str = "pools[0]") -> PoolSettings:
    """One XMRig ``pools[]`` object (``"pass"``, ``"rig-id"``, ``"tls-fingerprint"`` …)."""
    if not isinstance(entry, dict):
        raise ValueError(f"{where}: must be an object")
    kwargs: dict[str, object] = {}
    for key, value in entry.items():
        if key in IGNORED_KEYS or value is None:
            continue
        if key not in XMRIG_KEYS:
            raise ValueError(f"{where}.{key}: unknown key (known: {', '.join(XMRIG_KEYS)})")
        kwargs[XMRIG_KEYS[key]] = value
    if "url" not in kwargs:
        raise ValueError(f"{where}.url: missing")
    return PoolSettings(**kwargs).validated(where)  # type: ignore[arg-type]
