"""PUT /2/config against a miner backed by a real config file (ConfigManager)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api_support import JSON, SHARED, TOKEN, Request, RunningMiner, auth
from tests.test_api import BAD_BODIES, FULL
from xminer.config import load
from xminer.config.manager import ConfigManager


@pytest.fixture
def rm(tmp_path: Path) -> Iterator[tuple[RunningMiner, Path]]:
    path = tmp_path / "config.json"
    path.write_bytes((SHARED / "2_config.json").read_bytes())
    with RunningMiner(FULL) as running:
        running.miner.config = ConfigManager(load(path), path)
        yield running, path


# Known gap: the config model does not yet check algorithm names in "benchmark",
# so that body is still accepted.  Strict: fixing it must flip the mark.
GAPS = {"unknown_algorithm"}
CASES = [
    pytest.param(n, marks=pytest.mark.xfail(strict=True, reason="not validated yet"))
    if n in GAPS
    else n
    for n in BAD_BODIES
]


@pytest.mark.parametrize("name", CASES)
def test_bad_put_leaves_config_and_file(rm: tuple[RunningMiner, Path], name: str) -> None:
    running, path = rm
    before, file_before = running.get("/2/config").body, path.read_bytes()
    reply = running.request(
        Request("PUT", "/2/config", {**auth(TOKEN), **JSON}, BAD_BODIES[name][0])
    )
    assert reply.status in (400, 413)
    assert running.get("/2/config").body == before
    assert path.read_bytes() == file_before
