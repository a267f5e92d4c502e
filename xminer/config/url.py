"""Pool URLs, the one parser: ``[scheme://]host:port`` as XMRig reads them.

XMRig's schemes (case-insensitive): stratum+tcp, stratum+ssl (TLS), daemon+http and
daemon+https (solo mining against monerod); a bare ``host:port`` is stratum over TCP.
Every error is a ValueError with a short reason (the caller names the key).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SCHEMES = {
    "stratum+tcp": (False, False),  # (tls, daemon)
    "stratum+ssl": (True, False),
    "daemon+http": (False, True),
    "daemon+https": (True, True),
}
BASE58 = re.compile(r"^[1-9A-HJ-NP-Za-km-z]+$")
HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")


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
    """``stratum+tcp://h:p``, ``stratum+ssl://h:p``, ``daemon+http(s)://h:p`` or ``h:p``."""
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
            raise ValueError(f'unknown scheme "{scheme}://", expected {known} or host:port')
        tls, daemon = SCHEMES[scheme.lower()]
    elif "/" in text and not _is_host_port(text.split("/", 1)[0]):
        raise ValueError('missing "://"')  # stratum+tcp//host:port
    text = text.rstrip("/")
    if "/" in text:
        raise ValueError("a pool URL has no path")
    host, port_text = _split_host_port(text)
    if not host:
        raise ValueError("missing host")
    return PoolUrl(host, _port(port_text), tls, daemon)


def _is_host_port(text: str) -> bool:
    try:
        _split_host_port(text)
    except ValueError:
        return False
    return True


def _split_host_port(text: str) -> tuple[str, str]:
    if text.startswith("["):  # [IPv6]:port
        end = text.find("]")
        if end < 0:
            raise ValueError("unclosed [ in an IPv6 address")
        host, rest = text[1:end], text[end + 1 :]
        if not rest.startswith(":"):
            raise ValueError("missing port: expected host:port, such as pool.example.com:3333")
        return host, rest[1:]
    if ":" not in text:
        raise ValueError("missing port: expected host:port, such as pool.example.com:3333")
    host, port = text.rsplit(":", 1)
    if ":" in host:
        raise ValueError("an IPv6 address needs brackets: [::1]:3333")
    return host, port


def _port(text: str) -> int:
    if not text:
        raise ValueError("missing port: expected host:port, such as pool.example.com:3333")
    if not text.isdigit():
        raise ValueError(f"port {text!r} is not a number")
    port = int(text)
    if not 1 <= port <= 65535:
        raise ValueError(f"port {port} is out of range 1..65535")
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
