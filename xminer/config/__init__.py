"""XMRig's config.json as one typed model, its loading, saving, watching and CLI overrides.

Nothing here imports the running program (miner, backends, net, api, console)."""

from xminer.config.errors import ConfigError
from xminer.config.loader import find_config, load, parse, search_path
from xminer.config.manager import ConfigManager, ConfigWatcher
from xminer.config.model import Config, Pool

__all__ = [
    "Config",
    "ConfigError",
    "ConfigManager",
    "ConfigWatcher",
    "Pool",
    "find_config",
    "load",
    "parse",
    "search_path",
]
