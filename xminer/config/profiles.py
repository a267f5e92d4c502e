"""XMRig's CPU thread profiles and how a profile is found for an algorithm.

A profile (the value of ``cpu.rx``, ``cpu["rx/wow"]``, ``cpu["*"]`` ...) is one of:

* an array of affinities: ``[0, 1]`` (intensity 1 each, -1 = not pinned);
* an array of ``[intensity, affinity]`` pairs: ``[[1, 0], [1, 1]]`` (items may mix both forms);
* an object ``{"intensity": 1, "threads": 2, "affinity": -1}`` (affinity is a CPU mask;
  ``threads`` absent or null = the automatic count);
* ``false``: the algorithm is disabled;
* a string: an alias, the name of another profile (``"rx/arq": "rx/wow"``).

Lookup order (XMRig's): the exact algorithm, following aliases, then the family (the part
before "/"), then ``"*"``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from xminer.config.errors import ConfigError, join

PROFILE_EXPECTED = (
    "expected a thread profile: [affinity, ...], [[intensity, affinity], ...], "
    '{"intensity", "threads", "affinity"}, false, or the name of another profile'
)


@dataclass(frozen=True)
class CpuThread:
    """One CPU hashing thread of a profile."""

    affinity: int = -1  # logical CPU to pin to, -1 for none
    intensity: int = 1


def affinity_list(mask: int | None, count: int, cpus: int) -> list[int]:
    """Logical CPUs for ``count`` threads: from an XMRig affinity mask, or one per CPU in order."""
    if mask is None or mask < 0:
        return [i % cpus for i in range(count)] if count <= cpus else [-1] * count
    chosen = [i for i in range(cpus) if mask >> i & 1]
    if not chosen:
        return [-1] * count
    return [chosen[i % len(chosen)] for i in range(count)]


@dataclass(frozen=True)
class CpuProfile:
    """One parsed profile; ``raw`` is kept so that serialising gives back the file's text."""

    raw: Any
    threads: tuple[CpuThread, ...] = ()
    alias: str | None = None
    disabled: bool = False
    count: int | None = None  # object form: thread count (None = automatic)
    mask: int = -1  # object form: affinity mask
    intensity: int = 1

    @property
    def is_object(self) -> bool:
        return isinstance(self.raw, dict)

    def resolve(self, cpus: int, auto_count: int) -> list[CpuThread]:
        """The threads to run; the object form is expanded over ``cpus`` logical CPUs."""
        if self.disabled:
            return []
        if not self.is_object:
            return list(self.threads)
        count = self.count or auto_count
        mask = None if self.mask < 0 else self.mask
        return [CpuThread(a, self.intensity) for a in affinity_list(mask, count, cpus)]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _thread(item: Any, path: str) -> CpuThread:
    if _is_int(item) and item >= -1:
        return CpuThread(item, 1)
    if (
        isinstance(item, list)
        and len(item) == 2
        and all(_is_int(v) for v in item)
        and 1 <= item[0] <= 8
        and item[1] >= -1
    ):
        return CpuThread(item[1], item[0])
    expected = "expected an affinity (-1 or a CPU index) or [intensity 1..8, affinity]"
    raise ConfigError(path, item, expected)


def _object(raw: dict[str, Any], path: str) -> CpuProfile:
    intensity = raw.get("intensity", 1)
    count = raw.get("threads")
    mask = raw.get("affinity", -1)
    if not _is_int(intensity) or not 1 <= intensity <= 8:
        raise ConfigError(join(path, "intensity"), intensity, "expected an integer 1..8")
    if count is not None and (not _is_int(count) or not 1 <= count <= 1024):
        raise ConfigError(join(path, "threads"), count, "expected an integer 1..1024 or null")
    if not _is_int(mask) or mask < -1:
        raise ConfigError(join(path, "affinity"), mask, "expected a CPU mask such as 3, or -1")
    return CpuProfile(raw, count=count, mask=mask, intensity=intensity)


def parse_profile(raw: Any, path: str) -> CpuProfile:
    if raw is False:
        return CpuProfile(raw, disabled=True)
    if isinstance(raw, str) and raw:
        return CpuProfile(raw, alias=raw)
    if isinstance(raw, dict):
        return _object(raw, path)
    if isinstance(raw, list):
        return CpuProfile(raw, tuple(_thread(v, join(path, i)) for i, v in enumerate(raw)))
    raise ConfigError(path, raw, PROFILE_EXPECTED)


def family(algo: str) -> str:
    return algo.split("/", 1)[0]


def profile_key(profiles: dict[str, CpuProfile], algo: str) -> str | None:
    """The name of the profile ``algo`` uses: the exact name (aliases followed), then the
    family, then "*"; None when nothing matches."""
    seen: set[str] = set()
    name = algo
    while name in profiles and name not in seen:
        seen.add(name)
        profile = profiles[name]
        if profile.alias is None:
            return name
        name = profile.alias
    for key in (family(name), family(algo), "*"):
        profile = profiles.get(key)
        if profile is not None and profile.alias is None:
            return key
    return None


def find_profile(profiles: dict[str, CpuProfile], algo: str) -> CpuProfile | None:
    key = profile_key(profiles, algo)
    return None if key is None else profiles[key]
