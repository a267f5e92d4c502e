#!/usr/bin/env python3
"""A small Monero stratum pool for local demos and tests, with faults on command.

Jobs are synthetic (a random 76-byte blob, a fixed seed) or come from a monerod
(``--daemon http://127.0.0.1:18081 --wallet ADDRESS``; shares that meet the block difficulty
are submitted as blocks).  Shares are verified with RandomX (light mode).

Faults (methods of ``TestPool`` for tests; lines on the control socket for the command line,
``--control PORT``, e.g. ``echo garbage | nc 127.0.0.1 PORT``):

  garbage [TEXT]       send a line that is not JSON to every miner
  drop [N]             close the connection on each of the next N submits, without a reply
  delay SECONDS        delay every reply
  withhold on|off      never answer submits
  withhold-login on|off  never answer logins
  silent-stale on|off  never answer submits for replaced jobs (as some pools do)
  reject [REASON|off]  reject every share with REASON (default "Low difficulty share")
  answer [JSON|off]    answer every submit with this object (its id set), e.g. {"error": {}}
  freeze on|off        read nothing and answer nothing, connections stay open (a hung pool)
  refuse [REASON|off]  refuse logins with REASON
  seed [HEX]           change the seed (random when no HEX) and push a new job
  next-seed [HEX|off]  announce the next seed (next_seed_hash, random when no HEX) in a new job
  job                  push a new job
  diff N               difficulty for every miner from the next job
  kick                 close every connection
  down / up            stop / start listening (and kick)
  stats                counters as JSON

SIGUSR1 pushes a new seed, SIGUSR2 sends garbage.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import secrets
import signal
import ssl
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from xminer.job import MAX_TARGET, NICEHASH_BYTE, target_from_hex
from xminer.net.daemon import JsonRpc, block_found, template_difficulty
from xminer.randomx import VM, Cache, Flags, recommended_flags
from xminer.randomx.scan import NONCE_OFFSET, hash_tail

log = logging.getLogger("testpool")
DEFAULT_SEED = bytes.fromhex("3132333435363738393031323334353637383930313233343536373839303132")
KEEP_JOBS = 4  # older jobs are unknown ("Invalid job id")


class Verifier:
    """Light-mode RandomX for one seed at a time (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._flags = recommended_flags() & ~Flags.LARGE_PAGES
        self._seed: bytes | None = None
        self._cache: Cache | None = None
        self._vm: VM | None = None

    def hash(self, seed: bytes, data: bytes) -> bytes:
        with self._lock:
            if seed != self._seed:
                self._release()
                self._cache = Cache(self._flags)
                self._cache.init(seed)
                self._vm = VM(self._flags, self._cache, None)
                self._seed = seed
            assert self._vm is not None
            return self._vm.hash(data)

    def _release(self) -> None:
        if self._vm is not None:
            self._vm.destroy()
        if self._cache is not None:
            self._cache.release()
        self._vm = self._cache = None
        self._seed = None

    def close(self) -> None:
        with self._lock:
            self._release()


@dataclass
class PoolJob:
    job_id: str
    blob: bytes
    seed: bytes
    height: int
    template: dict[str, Any] | None = None


@dataclass
class Faults:
    drop_submits: int = 0
    delay: float = 0.0
    withhold: bool = False
    withhold_login: bool = False
    silent_stale: bool = False
    reject: str | None = None
    refuse: str | None = None
    answer: dict[str, Any] | None = None  # the reply to every submit, in place of the real one
    frozen: bool = False


@dataclass
class Session:
    sid: str
    writer: asyncio.StreamWriter
    login: dict[str, Any]
    difficulty: int
    nicehash_byte: int
    salt: bytes = bytes(32)  # XORed into blob bytes 44..75 of synthetic jobs
    jobs: dict[str, tuple[PoolJob, int]] = field(default_factory=dict)  # job_id -> job, target
    seen: set[tuple[str, int]] = field(default_factory=set)


@dataclass
class PoolStats:
    logins: list[dict[str, Any]] = field(default_factory=list)
    submits: list[tuple[str, str, int]] = field(default_factory=list)  # session, job_id, nonce
    accepted: int = 0
    rejected: int = 0
    duplicates: int = 0
    invalid: int = 0
    blocks: int = 0
    keepalives: int = 0
    dropped: int = 0

    def as_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["logins"] = len(self.logins)
        d["submits"] = len(self.submits)
        return d


class TestPool:
    """The pool; ``await start()``, then point a miner at ``url``."""

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        difficulty: int = 1000,
        seed: bytes = DEFAULT_SEED,
        target_bytes: int = 4,
        nicehash: bool = False,
        daemon: str | None = None,
        wallet: str | None = None,
        tls: ssl.SSLContext | None = None,
        verify: bool = True,
        unique_blobs: bool = True,
    ) -> None:
        self.host, self.port = host, port
        self.difficulty = difficulty
        self.seed = seed
        self.next_seed = b""  # announced in synthetic jobs as next_seed_hash when set
        self.target_bytes = target_bytes
        self.nicehash = nicehash
        self.daemon_url = daemon
        self.wallet = wallet
        self.tls = tls
        self.verify = verify
        self.unique_blobs = unique_blobs  # every login gets its own blob (as an extra nonce)
        self.faults = Faults()
        self.stats = PoolStats()
        self.sessions: dict[str, Session] = {}
        self.jobs: list[PoolJob] = []
        self.verifier = Verifier()
        self._server: asyncio.Server | None = None
        self._counter = 0
        self._height = 1000
        self._rpc: JsonRpc | None = None
        self._poller: asyncio.Future[None] | None = None
        self._conns: set[asyncio.StreamWriter] = set()
        self._thawed = asyncio.Event()  # cleared while frozen
        self._thawed.set()

    # ---- life cycle ----------------------------------------------------------------------
    @property
    def url(self) -> str:
        scheme = "stratum+ssl" if self.tls else "stratum+tcp"
        return f"{scheme}://{self.host}:{self.port}"

    async def start(self) -> None:
        if self.daemon_url:
            host, port = self.daemon_url.rsplit("//", 1)[-1].rstrip("/").rsplit(":", 1)
            self._rpc = JsonRpc(host, int(port), self.daemon_url.startswith("https"), 10.0)
            await self._poll_template()
            self._poller = asyncio.ensure_future(self._poll_loop())
        else:
            self._new_synthetic_job()
        await self.up()

    async def up(self) -> None:
        """Listen (again, on the same port)."""
        if self._server is None:
            self._server = await asyncio.start_server(
                self._handle, self.host, self.port, ssl=self.tls, reuse_address=True
            )
            self.port = self._server.sockets[0].getsockname()[1]
            log.info("listening on %s", self.url)

    async def down(self) -> None:
        """Stop listening and close every connection (the pool is gone)."""
        if self._server is not None:
            self._server.close()
            self._server = None
        await self.kick()
        log.info("down")

    async def stop(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
        await self.down()
        self._thawed.set()  # handlers held by a freeze see their closed connection and end
        if self._rpc is not None:
            self._rpc.close()
        await asyncio.get_running_loop().run_in_executor(None, self.verifier.close)

    async def kick(self) -> None:
        for writer in list(self._conns):
            if self.faults.frozen:
                writer.transport.abort()  # a TLS close would wait for the miner's close_notify
            else:
                writer.close()
        self._conns.clear()
        self.sessions.clear()

    def freeze(self, on: bool = True) -> None:
        """A hung pool: nothing read (so nothing answered), every connection kept open;
        new connections are accepted (the kernel does that) and never read from either."""
        self.faults.frozen = on
        if on:
            self._thawed.clear()
        else:
            self._thawed.set()
        for writer in self._conns:
            if on:
                writer.transport.pause_reading()
            else:
                writer.transport.resume_reading()

    # ---- jobs ----------------------------------------------------------------------------
    def _next_id(self) -> str:
        self._counter += 1
        return str(self._counter)

    def _new_synthetic_job(self) -> PoolJob:
        blob = bytearray(secrets.token_bytes(76))
        blob[0] = 16  # major version as in Monero's blobs
        blob[NONCE_OFFSET : NONCE_OFFSET + 4] = bytes(4)
        self._height += 1
        return self._add_job(PoolJob(self._next_id(), bytes(blob), self.seed, self._height))

    def _add_job(self, job: PoolJob) -> PoolJob:
        self.jobs.append(job)
        del self.jobs[:-KEEP_JOBS]
        return job

    async def _poll_template(self) -> bool:
        assert self._rpc is not None
        tpl = await self._rpc.call(
            "get_block_template", {"wallet_address": self.wallet, "reserve_size": 8}
        )
        last = self.jobs[-1].template if self.jobs else None
        if last and last.get("prev_hash") == tpl.get("prev_hash"):
            return False
        blob = bytes.fromhex(tpl["blockhashing_blob"])
        seed = bytes.fromhex(tpl["seed_hash"])
        self.seed = seed
        self._add_job(PoolJob(self._next_id(), blob, seed, int(tpl["height"]), tpl))
        return True

    async def _poll_loop(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            try:
                if await self._poll_template():
                    await self._broadcast_job()
            except Exception as exc:
                log.warning("template poll failed: %s", exc)

    async def push_job(self) -> None:
        """A new job for every miner."""
        if self._rpc is not None:
            await self._poll_template()
        else:
            self._new_synthetic_job()
        await self._broadcast_job()

    async def set_seed(self, seed: bytes | None = None) -> None:
        """Change the seed (synthetic jobs) and push a new job."""
        self.seed = seed or secrets.token_bytes(32)
        log.info("seed %s", self.seed.hex())
        await self.push_job()

    async def announce_seed(self, seed: bytes | None = None) -> None:
        """Announce the next seed (``next_seed_hash``, b"": none) and push a new job."""
        self.next_seed = secrets.token_bytes(32) if seed is None else seed
        log.info("next seed %s", self.next_seed.hex() or "none")
        await self.push_job()

    def set_difficulty(self, difficulty: int) -> None:
        self.difficulty = difficulty
        for s in self.sessions.values():
            s.difficulty = difficulty

    async def _broadcast_job(self) -> None:
        for s in list(self.sessions.values()):
            await self._send(
                s.writer, {"jsonrpc": "2.0", "method": "job", "params": self._job_for(s)}
            )

    def _target_hex(self, difficulty: int) -> str:
        if self.target_bytes == 8:
            return (MAX_TARGET // max(1, difficulty)).to_bytes(8, "little").hex()
        return (0xFFFFFFFF // max(1, difficulty)).to_bytes(4, "little").hex()

    def _blob_for(self, s: Session, job: PoolJob) -> bytearray:
        blob = bytearray(job.blob)
        if job.template is None and len(blob) >= 76:
            blob[44:76] = bytes(a ^ b for a, b in zip(blob[44:76], s.salt, strict=True))
        if self.nicehash:
            blob[NICEHASH_BYTE] = s.nicehash_byte
        return blob

    def _job_for(self, s: Session) -> dict[str, Any]:
        job = self.jobs[-1]
        blob = self._blob_for(s, job)
        target_hex = self._target_hex(s.difficulty)
        s.jobs[job.job_id] = (job, target_from_hex(target_hex))
        for old in [k for k in s.jobs if k not in {j.job_id for j in self.jobs}]:
            del s.jobs[old]
        msg = {
            "blob": blob.hex(),
            "job_id": job.job_id,
            "target": target_hex,
            "algo": "rx/0",
            "height": job.height,
            "seed_hash": job.seed.hex(),
        }
        if job.template is None and self.next_seed and self.next_seed != job.seed:
            msg["next_seed_hash"] = self.next_seed.hex()
        return msg

    # ---- faults --------------------------------------------------------------------------
    async def send_garbage(self, text: str = "}{ this is not json") -> None:
        for writer in list(self._conns):
            with contextlib.suppress(Exception):
                writer.write(text.encode() + b"\n")
                await writer.drain()

    def drop_next_submit(self, count: int = 1) -> None:
        self.faults.drop_submits += count

    # ---- connections ---------------------------------------------------------------------
    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._conns.add(writer)
        if self.faults.frozen:
            writer.transport.pause_reading()
        session: Session | None = None
        try:
            while not writer.is_closing():
                line = await reader.readline()
                if not line:
                    break
                await self._thawed.wait()  # a line read before the freeze waits too
                try:
                    msg = json.loads(line)
                except ValueError:
                    log.warning("garbage from a miner: %r", line[:80])
                    break
                session = await self._dispatch(msg, writer, session)
        except (OSError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        finally:
            self._conns.discard(writer)
            if session is not None:
                self.sessions.pop(session.sid, None)
            writer.close()

    async def _dispatch(
        self, msg: dict[str, Any], writer: asyncio.StreamWriter, session: Session | None
    ) -> Session | None:
        method, msg_id, params = msg.get("method"), msg.get("id"), msg.get("params") or {}
        if method == "login":
            return await self._login(msg_id, params, writer)
        if method == "submit":
            await self._submit(msg_id, params, writer, session)
        elif method == "keepalived":
            self.stats.keepalives += 1
            await self._reply(writer, msg_id, {"status": "KEEPALIVED"})
        else:
            await self._error(writer, msg_id, f"Unknown method {method}")
        return session

    async def _login(
        self, msg_id: Any, params: dict[str, Any], writer: asyncio.StreamWriter
    ) -> Session | None:
        self.stats.logins.append(params)
        if self.faults.withhold_login:
            return None
        if self.faults.refuse:
            await self._error(writer, msg_id, self.faults.refuse)
            return None
        sid = secrets.token_hex(8)
        s = Session(sid, writer, params, self.difficulty, (len(self.stats.logins) * 37) % 256)
        if self.unique_blobs and self._rpc is None:
            s.salt = secrets.token_bytes(32)
        self.sessions[sid] = s
        ext = ["algo", "keepalive", *(["nicehash"] if self.nicehash else [])]
        result = {"id": sid, "job": self._job_for(s), "extensions": ext, "status": "OK"}
        await self._reply(writer, msg_id, result)
        return s

    async def _submit(
        self,
        msg_id: Any,
        params: dict[str, Any],
        writer: asyncio.StreamWriter,
        session: Session | None,
    ) -> None:
        if session is None or params.get("id") != session.sid:
            await self._error(writer, msg_id, "Unauthenticated")
            return
        job_id = str(params.get("job_id"))
        try:
            nonce = int.from_bytes(bytes.fromhex(params["nonce"]), "little")
            digest = bytes.fromhex(params["result"])
        except (KeyError, ValueError, TypeError):
            await self._error(writer, msg_id, "Malformed share")
            return
        self.stats.submits.append((session.sid, job_id, nonce))
        if self.faults.answer is not None:
            await self._send(writer, {**self.faults.answer, "id": msg_id})
            return
        if self.faults.drop_submits > 0:
            self.faults.drop_submits -= 1
            self.stats.dropped += 1
            log.info("fault: dropping the connection in the middle of a share")
            writer.close()
            return
        reason = await self._check(session, job_id, nonce, digest)
        if reason is None and self.faults.reject:
            reason = self.faults.reject
        if reason == "":  # silent: no reply at all
            return
        if reason is not None:
            self.stats.rejected += 1
            await self._error(writer, msg_id, reason, held=True)
            return
        self.stats.accepted += 1
        await self._reply(writer, msg_id, {"status": "OK"}, held=True)

    async def _check(self, s: Session, job_id: str, nonce: int, digest: bytes) -> str | None:
        """None if the share is good, a reason if not, "" for no reply."""
        entry = s.jobs.get(job_id)
        if entry is None:
            return "Invalid job id"
        job, target = entry
        if self.faults.silent_stale and job is not self.jobs[-1]:
            return ""
        if (job_id, nonce) in s.seen:
            self.stats.duplicates += 1
            return "Duplicate share"
        s.seen.add((job_id, nonce))
        if self.nicehash and nonce >> 24 != s.nicehash_byte:
            s.writer.close()  # as real NiceHash-mode pools do
            return ""
        blob = self._blob_for(s, job)
        blob[NONCE_OFFSET : NONCE_OFFSET + 4] = nonce.to_bytes(4, "little")
        if self.verify:
            loop = asyncio.get_running_loop()
            real = await loop.run_in_executor(None, self.verifier.hash, job.seed, bytes(blob))
            if real != digest:
                self.stats.invalid += 1
                return "Invalid PoW"
        if hash_tail(digest) >= target:
            return "Low difficulty share"
        if job.template is not None:
            await self._maybe_block(job, nonce, digest)
        return None

    async def _maybe_block(self, job: PoolJob, nonce: int, digest: bytes) -> None:
        assert job.template is not None and self._rpc is not None
        if not block_found(digest, template_difficulty(job.template)):
            return
        block = bytearray(bytes.fromhex(job.template["blocktemplate_blob"]))
        block[NONCE_OFFSET : NONCE_OFFSET + 4] = nonce.to_bytes(4, "little")
        try:
            await self._rpc.call("submit_block", [block.hex()])
            self.stats.blocks += 1
            log.info("block found at height %d", job.height)
        except Exception as exc:
            log.warning("block refused: %s", exc)

    # ---- replies -------------------------------------------------------------------------
    async def _reply(
        self, writer: asyncio.StreamWriter, msg_id: Any, result: Any, held: bool = False
    ) -> None:
        await self._answer(
            writer, {"id": msg_id, "jsonrpc": "2.0", "error": None, "result": result}, held
        )

    async def _error(
        self, writer: asyncio.StreamWriter, msg_id: Any, message: str, held: bool = False
    ) -> None:
        error = {"code": -1, "message": message}
        await self._answer(writer, {"id": msg_id, "jsonrpc": "2.0", "error": error}, held)

    async def _answer(self, writer: asyncio.StreamWriter, msg: dict[str, Any], held: bool) -> None:
        if held and self.faults.withhold:
            return
        if self.faults.delay > 0:
            await asyncio.sleep(self.faults.delay)
        await self._send(writer, msg)

    async def _send(self, writer: asyncio.StreamWriter, msg: dict[str, Any]) -> None:
        if writer.is_closing():
            return
        with contextlib.suppress(OSError, ssl.SSLError, RuntimeError):
            writer.write(json.dumps(msg).encode() + b"\n")
            await writer.drain()

    # ---- control (command line) ----------------------------------------------------------
    async def command(self, line: str) -> str:
        """One control command (see the module docstring); returns a one-line answer."""
        words = line.split(maxsplit=1)
        if not words:
            return "?"
        name, arg = words[0].lower(), (words[1] if len(words) > 1 else "")
        on = arg.lower() in ("on", "1", "yes", "true", "")
        f = self.faults
        if name == "garbage":
            await self.send_garbage(arg or "}{ this is not json")
        elif name == "drop":
            self.drop_next_submit(int(arg or 1))
        elif name == "delay":
            f.delay = float(arg or 0)
        elif name == "withhold":
            f.withhold = on
        elif name == "withhold-login":
            f.withhold_login = on
        elif name == "silent-stale":
            f.silent_stale = on
        elif name == "reject":
            f.reject = None if arg == "off" else (arg or "Low difficulty share")
        elif name == "answer":
            f.answer = None if arg == "off" else json.loads(arg or '{"error": {}}')
        elif name == "freeze":
            self.freeze(on)
        elif name == "refuse":
            f.refuse = None if arg == "off" else (arg or "Invalid address")
        elif name == "seed":
            await self.set_seed(bytes.fromhex(arg) if arg else None)
        elif name == "next-seed":
            await self.announce_seed(b"" if arg == "off" else bytes.fromhex(arg) if arg else None)
        elif name == "job":
            await self.push_job()
        elif name == "diff":
            self.set_difficulty(int(arg))
        elif name == "kick":
            await self.kick()
        elif name == "down":
            await self.down()
        elif name == "up":
            await self.up()
        elif name == "stats":
            return json.dumps(self.stats.as_dict())
        else:
            return f"unknown command {name!r}"
        return "ok"

    async def serve_control(self, port: int) -> asyncio.Server:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            while line := await reader.readline():
                try:
                    answer = await self.command(line.decode().strip())
                except (ValueError, TypeError) as exc:
                    answer = f"error: {exc}"
                writer.write(answer.encode() + b"\n")
                await writer.drain()
            writer.close()

        return await asyncio.start_server(handle, "127.0.0.1", port)


def tls_server_context(cert: str, key: str) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    return ctx


async def _main(args: argparse.Namespace) -> None:
    tls = tls_server_context(args.tls_cert, args.tls_key) if args.tls_cert else None
    pool = TestPool(
        args.host,
        args.port,
        args.difficulty,
        bytes.fromhex(args.seed),
        args.target_bytes,
        args.nicehash,
        args.daemon,
        args.wallet,
        tls,
    )
    await pool.start()
    print(f"testpool: {pool.url} difficulty {args.difficulty}", flush=True)
    if args.control:
        await pool.serve_control(args.control)
        print(f"testpool: control on 127.0.0.1:{args.control}", flush=True)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    loop.add_signal_handler(signal.SIGUSR1, lambda: asyncio.ensure_future(pool.set_seed()))
    loop.add_signal_handler(signal.SIGUSR2, lambda: asyncio.ensure_future(pool.send_garbage()))
    await stop.wait()
    await pool.stop()


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=3333)
    p.add_argument("--difficulty", type=int, default=1000)
    p.add_argument("--seed", default=DEFAULT_SEED.hex(), help="seed hash (hex) of synthetic jobs")
    p.add_argument("--target-bytes", type=int, choices=(4, 8), default=4)
    p.add_argument("--nicehash", action="store_true", help="fix the top nonce byte per miner")
    p.add_argument("--daemon", help="take templates from monerod, e.g. http://127.0.0.1:18081")
    p.add_argument("--wallet", help="address for the templates (with --daemon)")
    p.add_argument("--tls-cert", help="serve TLS with this certificate (PEM)")
    p.add_argument("--tls-key", help="... and this key (PEM)")
    p.add_argument("--control", type=int, help="control socket port on 127.0.0.1")
    args = p.parse_args(argv)
    if args.daemon and not args.wallet:
        p.error("--daemon needs --wallet")
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stdout
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main(args))


if __name__ == "__main__":
    main()
