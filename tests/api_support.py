"""A miner in benchmark mode (light, one thread, never finishing) with its API, on a thread of
its own, and a small HTTP client for loopback requests."""

from __future__ import annotations

import asyncio
import http.client
import json
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.config_support import miner_config
from xminer.api import ApiServer, start_api
from xminer.api.host import MinerHost
from xminer.app import App
from xminer.bench import BenchmarkSource
from xminer.config.manager import ConfigManager
from xminer.config.model import Api, Http
from xminer.miner import Miner

# XMRig's captured replies and configs, copied into the repository so that a clone runs alone
CAPTURES = Path(__file__).resolve().parent / "fixtures" / "xmrig-api"
OPENAPI = Path(__file__).resolve().parents[1] / "xminer" / "api" / "openapi.json"
TOKEN = "SECRET"
BENCH_SIZE = 10_000_000  # never reached: about 30 H/s in light mode


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Request:
    method: str = "GET"
    path: str = "/2/summary"
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None


class RunningMiner:
    """``with RunningMiner(settings) as rm:`` — the miner hashes, the API listens."""

    def __init__(
        self,
        http: Http,
        threads: int = 1,
        manager: ConfigManager | None = None,
        **config: Any,
    ) -> None:
        """``threads`` CPU threads (0: no CPU backend); config: more ``miner_config``
        arguments (``opencl={"enabled": True, ...}``, ...).  With a ``manager`` the miner runs
        inside an ``App`` as the command line wires it (its API from the manager's http
        section, every config change applied live), else the API serves the bare miner."""
        self.http = http
        self.threads = threads
        self.manager = manager
        self.config = config
        self.app: App | None = None
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, name="test-miner", daemon=True)
        self.miner: Miner | None = None
        self.api: ApiServer | None = None
        self.error: BaseException | None = None

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self._main())
        except BaseException as exc:  # reported by __enter__ / __exit__
            self.error = exc
            self.ready.set()

    async def _main(self) -> None:
        config = miner_config(self.threads, "light", bench_size=BENCH_SIZE, **self.config)
        self.miner = Miner(config, BenchmarkSource(BENCH_SIZE))
        if self.manager is not None:
            self.app = App(self.manager, self.miner)
            self.app.follow_config()
            self.app.start_http_api()
            self.api = self.app.api
        else:
            self.api = start_api(MinerHost(self.miner), self.http)
        self.ready.set()
        try:
            await self.miner.run()
        finally:
            api = self.app.api if self.app is not None else self.api
            if api is not None:
                await api.stop()

    def __enter__(self) -> RunningMiner:
        self.thread.start()
        self.ready.wait(60)
        if self.error is not None:
            raise self.error
        return self

    def __exit__(self, *exc: object) -> None:
        if self.miner is not None:
            self.loop.call_soon_threadsafe(self.miner.shutdown)
        self.thread.join(60)
        assert not self.thread.is_alive(), "the miner did not stop"
        assert self.error is None, self.error

    @property
    def port(self) -> int:
        assert self.api is not None
        return self.api.port

    def call(self, coro: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro(), self.loop).result(30)

    def rebind(self, http: Http, api: Api | None = None) -> None:
        assert self.api is not None
        server = self.api
        self.call(lambda: server.rebind(http, api or Api()))

    def request(self, req: Request) -> Reply:
        return send(self.port, req)

    def get(self, path: str, token: str | None = TOKEN) -> Reply:
        return self.request(Request("GET", path, auth(token)))

    def rpc(self, method: str, token: str | None = TOKEN, rpc_id: object = 1) -> Reply:
        body = json.dumps({"method": method, "id": rpc_id}).encode()
        return self.request(Request("POST", "/json_rpc", {**auth(token), **JSON}, body))

    def wait_for(self, what: Callable[[], bool], timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if what():
                return
            time.sleep(0.5)
        raise AssertionError("condition not reached in time")

    def counters(self) -> dict[int, int]:
        """Hashes counted so far by each thread of the running backends (by counter)."""
        assert self.miner is not None
        state = self.miner.state
        with state.lock:
            running = [b for b in state.backends.values() if b.running]
            return {id(t.counter): t.counter.total for b in running for t in b.threads}

    def wait_hashing(self, timeout: float = 240.0) -> None:
        """Until every running thread has counted hashes since this call (a rebuilt thread:
        any), however slowly the machine hashes; no hashrate window has to fill."""
        before = self.counters()

        def grown() -> bool:
            now = self.counters()
            return bool(now) and all(n > before.get(key, 0) for key, n in now.items())

        self.wait_for(grown, timeout)


JSON = {"Content-Type": "application/json"}


def auth(token: str | None) -> dict[str, str]:
    return {} if token is None else {"Authorization": f"Bearer {token}"}


def send(port: int, req: Request) -> Reply:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(req.method, req.path, body=req.body, headers=req.headers)
        resp = conn.getresponse()
        body = resp.read()
        return Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, body)
    finally:
        conn.close()


def load_capture(name: str) -> Any:
    return json.loads((CAPTURES / f"{name}.json").read_text())


def kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def shape_diff(ours: object, theirs: object, path: str = "$") -> list[str]:
    """Where ours differs from XMRig's capture: key lists (in order) and value kinds.

    A null on either side matches a scalar (rates and optional values are nullable)."""
    a, b = kind(ours), kind(theirs)
    if a != b:
        scalars = {"null", "bool", "number", "str"}
        if "null" in (a, b) and a in scalars and b in scalars:
            return []
        return [f"{path}: {a} (ours) vs {b} (XMRig)"]
    if isinstance(ours, dict) and isinstance(theirs, dict):
        if list(ours) != list(theirs):
            return [f"{path}: keys {list(ours)} (ours) vs {list(theirs)} (XMRig)"]
        return [d for k in ours for d in shape_diff(ours[k], theirs[k], f"{path}.{k}")]
    if isinstance(ours, list) and isinstance(theirs, list) and ours and theirs:
        return shape_diff(ours[0], theirs[0], f"{path}[0]")
    return []
