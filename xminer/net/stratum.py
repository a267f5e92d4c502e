"""Monero stratum (XMRig's dialect): login, jobs, submit, keepalived, over TCP or TLS."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import ssl
import time
from dataclasses import dataclass
from typing import Any

from xminer.job import NICEHASH_BYTE, Job, Result, target_from_hex
from xminer.net.upstream import Upstream, UpstreamError, resolve, user_agent

log = logging.getLogger("xminer.net")

LINE_LIMIT = 256 * 1024
SUPPORTED_ALGOS = ("rx/0",)
RECONNECT_ERRORS = ("unauthenticated", "unauthorized", "banned")


@dataclass
class Pending:
    result: Result
    sent: float  # monotonic


def tls_context() -> ssl.SSLContext:
    """Like XMRig: no CA check (pools use self-signed certificates); pin with a fingerprint."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


def parse_job(params: Any, nicehash: bool, source: str, serial: int) -> Job:
    """A job object from a login reply or a ``job`` notification; ``UpstreamError`` if broken."""
    if not isinstance(params, dict):
        raise UpstreamError("invalid job: not an object")
    try:
        blob = bytes.fromhex(str(params["blob"]))
        job_id = str(params["job_id"])
        target = target_from_hex(str(params["target"]))
        seed = bytes.fromhex(str(params.get("seed_hash", "")))
        height = int(params.get("height") or 0)
    except (KeyError, ValueError, TypeError) as exc:
        raise UpstreamError(f"invalid job: {exc!s}") from None
    algo = str(params.get("algo") or "rx/0")
    if algo not in SUPPORTED_ALGOS:
        raise UpstreamError(f"invalid job: unsupported algo {algo}")
    if len(blob) < NICEHASH_BYTE + 1 or len(blob) > 512:
        raise UpstreamError(f"invalid job: blob of {len(blob)} bytes")
    if not job_id:
        raise UpstreamError("invalid job: empty job_id")
    if len(seed) != 32:
        raise UpstreamError("invalid job: seed_hash must be 32 bytes")
    return Job(
        job_id=job_id,
        blob=blob,
        seed_hash=seed,
        target=target,
        algo=algo,
        height=height,
        source=source,
        nicehash=nicehash,
        extra={"conn": serial},
    )


class StratumConnection(Upstream):
    kind = "pool"

    def __init__(self, *args: Any, submit_timeout: float = 30.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.submit_timeout = submit_timeout
        self.session = ""
        self.extensions: list[str] = []
        self.nicehash = self.settings.nicehash
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._write_lock = asyncio.Lock()
        self._next_id = 1
        self._pending: dict[int, Pending] = {}
        self._keepalive_ids: set[int] = set()
        self._last_send = time.monotonic()

    # ---- connecting ------------------------------------------------------------------------
    async def open(self) -> None:
        try:
            await asyncio.wait_for(self._open(), self.timeout)
        except TimeoutError:
            await self.close()
            raise UpstreamError(f"no answer within {self.timeout:g} s") from None
        except UpstreamError:
            await self.close()
            raise
        except (OSError, ssl.SSLError, EOFError) as exc:
            await self.close()
            raise UpstreamError(describe_os_error(exc)) from None

    async def _open(self) -> None:
        s, url = self.settings, self.url
        ctx = tls_context() if s.use_tls else None
        sni = url.host if ctx is not None and s.sni else None
        self._reader, self._writer = await asyncio.open_connection(
            url.host, url.port, ssl=ctx, server_hostname=sni, limit=LINE_LIMIT
        )
        if ctx is not None:
            self._check_tls()
        peer = self._writer.get_extra_info("peername")
        self.ip = str(peer[0]) if peer else await resolve(url.host)
        reply = await self._login()
        self._on_login(reply)

    def _check_tls(self) -> None:
        assert self._writer is not None
        obj: ssl.SSLObject | None = self._writer.get_extra_info("ssl_object")
        der = obj.getpeercert(binary_form=True) if obj is not None else None
        if not der:
            raise UpstreamError("TLS: the pool sent no certificate")
        self.fingerprint = hashlib.sha256(der).hexdigest()
        self.tls_version = obj.version() if obj is not None else None
        pinned = self.settings.tls_fingerprint
        if pinned and pinned.replace(":", "").lower() != self.fingerprint:
            raise UpstreamError(
                f"TLS fingerprint mismatch: pool certificate is {self.fingerprint}, "
                f"expected {pinned} (pool refused)"
            )

    async def _login(self) -> dict[str, Any]:
        s = self.settings
        params: dict[str, Any] = {
            "login": s.user,
            "pass": s.password,
            "agent": user_agent(),
            "algo": list(SUPPORTED_ALGOS),
        }
        if s.rig_id:
            params["rigid"] = s.rig_id
        login_id = await self._send("login", params)
        while True:
            msg = await self._read_message()
            if msg is None:
                raise UpstreamError("connection closed by the pool during login")
            if msg.get("id") == login_id:
                return msg
            log.debug("%s: ignored before login: %s", self.name, msg)

    def _on_login(self, reply: dict[str, Any]) -> None:
        error = reply.get("error")
        if error:
            raise UpstreamError(f"login failed: {error_message(error)}")
        result = reply.get("result")
        if not isinstance(result, dict) or "job" not in result:
            raise UpstreamError("login failed: reply has no job")
        self.session = str(result.get("id", ""))
        ext = result.get("extensions")
        self.extensions = [str(e) for e in ext] if isinstance(ext, list) else []
        self.nicehash = self.settings.nicehash or "nicehash" in self.extensions
        self.job = parse_job(result["job"], self.nicehash, self.name, self.serial)

    # ---- running ---------------------------------------------------------------------------
    async def serve(self) -> None:
        ticker = asyncio.ensure_future(self._tick())
        try:
            while not self.closed:
                msg = await self._read_message()
                if msg is None:
                    if self.closed:
                        return
                    raise UpstreamError("connection closed by the pool")
                self._dispatch(msg)
        except (OSError, ssl.SSLError) as exc:
            if self.closed:
                return
            raise UpstreamError(describe_os_error(exc)) from None
        finally:
            ticker.cancel()
            self._drop_pending()

    async def _read_message(self) -> dict[str, Any] | None:
        """The next JSON object; None at a clean end of the stream; blank lines skipped."""
        assert self._reader is not None
        text = b""
        while not text:
            try:
                line = await self._reader.readuntil(b"\n")
            except asyncio.IncompleteReadError as exc:
                if exc.partial.strip():
                    raise UpstreamError("connection closed in the middle of a message") from None
                return None
            except asyncio.LimitOverrunError:
                raise UpstreamError(f"message longer than {LINE_LIMIT} bytes") from None
            text = line.strip()
        try:
            msg = json.loads(text)
        except (ValueError, UnicodeDecodeError):
            raise UpstreamError(f"invalid JSON from the pool: {text[:80]!r}") from None
        if not isinstance(msg, dict):
            raise UpstreamError(f"invalid message from the pool: {text[:80]!r}")
        return msg

    def _dispatch(self, msg: dict[str, Any]) -> None:
        method = msg.get("method")
        if method == "job":
            self.accept_job(parse_job(msg.get("params"), self.nicehash, self.name, self.serial))
        elif method is not None:
            log.debug("%s: ignored method %r", self.name, method)
        elif isinstance(msg.get("id"), int):
            self._on_reply(msg["id"], msg)
        else:
            log.debug("%s: ignored message %s", self.name, msg)

    def _on_reply(self, msg_id: int, msg: dict[str, Any]) -> None:
        if msg_id in self._keepalive_ids:
            self._keepalive_ids.discard(msg_id)
            return
        pending = self._pending.pop(msg_id, None)
        if pending is None:
            log.debug("%s: reply to unknown id %d", self.name, msg_id)
            return
        ms = int((time.monotonic() - pending.sent) * 1000)
        job = pending.result.job
        error = msg.get("error")
        r = self.stats.state.results
        if error:
            reason = error_message(error)
            self.stats.rejected(reason)
            log.warning(
                "rejected (%d/%d) diff %d %r (%d ms)",
                r.accepted,
                r.rejected,
                job.difficulty,
                reason,
                ms,
            )
            if any(word in reason.lower() for word in RECONNECT_ERRORS) and self._writer:
                self._writer.close()  # the session is gone: serve() ends, the client reconnects
            return
        self.stats.accepted(job, pending.result.hash, ms)
        log.info("accepted (%d/%d) diff %d (%d ms)", r.accepted, r.rejected, job.difficulty, ms)

    async def _tick(self) -> None:
        """Expire unanswered submits; send keepalived when the line has been quiet."""
        keepalive = self.settings.keepalive_seconds
        while not self.closed:
            await asyncio.sleep(min(1.0, keepalive) if keepalive else 1.0)
            self._expire_pending()
            if keepalive and time.monotonic() - self._last_send >= keepalive:
                msg_id = await self._send("keepalived", {"id": self.session})
                self._keepalive_ids = {i for i in self._keepalive_ids if i > msg_id - 8}
                self._keepalive_ids.add(msg_id)

    def _expire_pending(self) -> None:
        now = time.monotonic()
        for msg_id, p in list(self._pending.items()):
            if now - p.sent > self.submit_timeout:
                del self._pending[msg_id]
                log.warning(
                    "%s: no reply for share %08x of job %s within %g s",
                    self.name,
                    p.result.nonce,
                    p.result.job.job_id,
                    self.submit_timeout,
                )
                self.stats.error("no reply to submit")

    def _drop_pending(self) -> None:
        if self._pending:
            log.warning("%s: %d share(s) lost with the connection", self.name, len(self._pending))
            self._pending.clear()

    # ---- sending ---------------------------------------------------------------------------
    async def submit(self, result: Result) -> None:
        params = {
            "id": self.session,
            "job_id": result.job.job_id,
            "nonce": result.nonce.to_bytes(4, "little").hex(),
            "result": result.hash.hex(),
            "algo": result.job.algo,
        }
        msg_id = await self._send("submit", params)
        if msg_id:
            self._pending[msg_id] = Pending(result, time.monotonic())

    async def _send(self, method: str, params: dict[str, Any]) -> int:
        """Write one request; 0 when the connection is already gone (serve() notices)."""
        if self._writer is None or self._writer.is_closing():
            return 0
        msg_id = self._next_id
        self._next_id += 1
        line = json.dumps({"id": msg_id, "jsonrpc": "2.0", "method": method, "params": params})
        try:
            async with self._write_lock:
                self._writer.write(line.encode() + b"\n")
                await self._writer.drain()
        except (OSError, ssl.SSLError) as exc:
            log.debug("%s: write failed: %s", self.name, exc)
            self._writer.close()
            return 0
        self._last_send = time.monotonic()
        return msg_id

    async def close(self) -> None:
        self.closed = True
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 2.0)


def error_message(error: Any) -> str:
    if isinstance(error, dict):
        return str(error.get("message") or error.get("code") or "error")
    return str(error)


def describe_os_error(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLError):
        return f"TLS error: {exc.reason or exc}"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, BrokenPipeError | ConnectionAbortedError):
        return "connection closed by the pool"
    if isinstance(exc, ConnectionResetError):
        return "connection reset by the pool"
    if isinstance(exc, EOFError):
        return "connection closed"
    return str(exc) or type(exc).__name__
