"""The API's settings: XMRig's ``http`` and ``api`` config sections."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ApiSettings:
    enabled: bool = False
    host: str = "127.0.0.1"  # "0.0.0.0": all IPv4, "::": IPv4 and IPv6
    port: int = 0  # 0: any free port (the one bound is logged and in ApiServer.port)
    access_token: str | None = None
    restricted: bool = True
    api_id: str | None = None  # fixed instance id instead of the derived one
    worker_id: str | None = None  # default: the host name

    @classmethod
    def from_config(cls, doc: dict[str, Any]) -> ApiSettings:
        """From a config document (GET /2/config shape): its ``http`` and ``api`` sections."""
        http = doc.get("http") or {}
        api = doc.get("api") or {}
        return cls(
            enabled=bool(http.get("enabled", False)),
            host=str(http.get("host") or "127.0.0.1"),
            port=int(http.get("port") or 0),
            access_token=http.get("access-token") or None,
            restricted=bool(http.get("restricted", True)),
            api_id=api.get("id") or None,
            worker_id=api.get("worker-id") or None,
        )

    def http_section(self) -> dict[str, Any]:
        return {
            "enabled": self.enabled,
            "host": self.host,
            "port": self.port,
            "access-token": self.access_token,
            "restricted": self.restricted,
        }

    def api_section(self) -> dict[str, Any]:
        return {"id": self.api_id, "worker-id": self.worker_id}

    @property
    def auth_required(self) -> bool:
        """XMRig: a token set, or unrestricted mode (which then locks out everyone)."""
        return not self.restricted or self.access_token is not None
