"""XMRig-compatible HTTP API: /2/summary, /2/backends, /2/config, /json_rpc and the v1 aliases."""

from xminer.api.server import ApiServer, start_api

__all__ = ["ApiServer", "start_api"]
