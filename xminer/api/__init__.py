"""XMRig-compatible HTTP API: /2/summary, /2/backends, /2/config, /json_rpc and the v1 aliases."""

from xminer.api.server import ApiServer, start_api
from xminer.api.settings import ApiSettings

__all__ = ["ApiServer", "ApiSettings", "start_api"]
