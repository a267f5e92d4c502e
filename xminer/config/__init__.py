"""XMRig's config.json as one typed model, its loading, saving, watching and CLI overrides."""

from xminer.config.errors import ConfigError
from xminer.config.loader import find_config, load, parse, search_path
from xminer.config.manager import ConfigManager, ConfigWatcher
from xminer.config.model import Config, Pool
from xminer.config.settings import make_work_source, settings_from_config

__all__ = [
    "Config",
    "ConfigError",
    "ConfigManager",
    "ConfigWatcher",
    "Pool",
    "find_config",
    "load",
    "make_work_source",
    "parse",
    "search_path",
    "settings_from_config",
]
