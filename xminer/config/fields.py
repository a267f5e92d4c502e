"""The small engine under the model: typed checks and dataclass sections that keep key order.

A section is a dataclass whose fields carry a ``Spec`` (the JSON key and its check) in their
metadata.  Parsing checks each known key, keeps every other key in ``extra`` (in file order),
and serialising writes the known keys in field order (XMRig's order), then the extra ones.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Self, TypeVar

from xminer.config.errors import MISSING, ConfigError, join

T = TypeVar("T")


@dataclass(frozen=True)
class Check:
    """Convert and check one JSON value; raise ConfigError(path, value, expected)."""

    expected: str
    test: Callable[[Any], bool]
    convert: Callable[[Any, str], Any] | None = None

    def __call__(self, value: Any, path: str) -> Any:
        if not self.test(value):
            raise ConfigError(path, value, f"expected {self.expected}")
        return self.convert(value, path) if self.convert else value


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


BOOL = Check("true or false", lambda v: isinstance(v, bool))
STR = Check("a string", lambda v: isinstance(v, str))
NONEMPTY = Check("a non-empty string", lambda v: isinstance(v, str) and v.strip() != "")
NULL = Check("null", lambda v: v is None)
ANY = Check("any value", lambda v: True)


def integer(lo: int | None = None, hi: int | None = None) -> Check:
    if lo is not None and hi is not None:
        text = f"an integer {lo}..{hi}"
    elif lo is not None:
        text = f"an integer >= {lo}"
    else:
        text = "an integer"
    return Check(
        text,
        lambda v: _is_int(v) and (lo is None or v >= lo) and (hi is None or v <= hi),
    )


def choice(*values: str) -> Check:
    return Check(" or ".join(f'"{v}"' for v in values), lambda v: v in values)


def either(*checks: Check) -> Check:
    """The first check that accepts the value; the error lists every alternative."""
    expected = " or ".join(c.expected for c in checks)

    def test(value: Any) -> bool:
        return any(c.test(value) for c in checks)

    def convert(value: Any, path: str) -> Any:
        for check in checks:
            if check.test(value):
                return check(value, path)
        raise AssertionError("unreachable")

    return Check(expected, test, convert)


def nullable(check: Check) -> Check:
    return either(check, NULL)


def list_of(item: Check, what: str = "") -> Check:
    def convert(value: list[Any], path: str) -> list[Any]:
        return [item(v, join(path, i)) for i, v in enumerate(value)]

    return Check(what or f"a list of {item.expected}", lambda v: isinstance(v, list), convert)


def section(cls: type[Section]) -> Check:
    return Check("an object", lambda v: isinstance(v, dict), cls.from_json)


@dataclass(frozen=True)
class Spec:
    key: str
    check: Check
    hidden_if_none: bool = False  # input-only keys: written only when given


def opt(
    key: str,
    check: Check,
    default: Any = None,
    *,
    factory: Callable[[], Any] | None = None,
    hidden_if_none: bool = False,
) -> Any:
    meta = {"spec": Spec(key, check, hidden_if_none)}
    if factory is not None:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


def specs(cls: type[Any]) -> list[tuple[str, Spec]]:
    return [(f.name, f.metadata["spec"]) for f in fields(cls) if "spec" in f.metadata]


@dataclass
class Section:
    """Base of every config object: known keys as fields, the rest kept in ``extra``."""

    extra: dict[str, Any] = field(default_factory=dict, repr=False)
    unknown_ok: ClassVar[bool] = False  # True: unknown keys are expected (thread profiles)

    @classmethod
    def from_json(cls, data: Any, path: str = "") -> Self:
        if not isinstance(data, dict):
            raise ConfigError(path, data, "expected an object")
        kwargs: dict[str, Any] = {}
        known: set[str] = set()
        for name, spec in specs(cls):
            known.add(spec.key)
            if spec.key in data:
                kwargs[name] = spec.check(data[spec.key], join(path, spec.key))
        extra = {k: v for k, v in data.items() if k not in known}
        obj = cls(**kwargs)
        obj.extra = obj.parse_extra(extra, path)
        return obj

    def parse_extra(self, extra: dict[str, Any], path: str) -> dict[str, Any]:
        """Keys the section does not model; subclasses check them (e.g. thread profiles)."""
        return dict(extra)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, spec in specs(type(self)):
            value = getattr(self, name)
            if value is None and spec.hidden_if_none:
                continue
            out[spec.key] = dump(value)
        out.update(dump(self.extra))
        return out

    def unknown_keys(self, path: str = "") -> list[str]:
        """Paths of keys nobody models (comments, keys starting with "_", excepted)."""
        found: list[str] = []
        if not self.unknown_ok:
            found += [join(path, k) for k in self.extra if not k.startswith("_")]
        for name, spec in specs(type(self)):
            value = getattr(self, name)
            if isinstance(value, Section):
                found += value.unknown_keys(join(path, spec.key))
            elif isinstance(value, list):
                for i, item in enumerate(value):
                    if isinstance(item, Section):
                        found += item.unknown_keys(join(join(path, spec.key), i))
        return found


def dump(value: Any) -> Any:
    if isinstance(value, Section):
        return value.to_json()
    if isinstance(value, list):
        return [dump(v) for v in value]
    if isinstance(value, dict):
        return {k: dump(v) for k, v in value.items()}
    return value


__all__ = [
    "ANY",
    "BOOL",
    "MISSING",
    "NONEMPTY",
    "NULL",
    "STR",
    "Check",
    "Section",
    "choice",
    "either",
    "integer",
    "list_of",
    "nullable",
    "opt",
    "section",
]
