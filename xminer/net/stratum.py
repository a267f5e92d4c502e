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

from xminer import jsonsafe
from xminer.job import Job, Result, next_seed, target_from_hex
from xminer.net.upstream import (
    Upstream,
    UpstreamError,
    blob_problem,
    parse_height,
    resolve,
    user_agent,
)

log = logging.getLogger("xminer.net")

LINE_LIMIT = 256 * 1024
SUPPORTED_ALGOS = ("rx/0",)
RECONNECT_ERRORS = ("unauthenticated", "unauthorized", "banned")
RESPONSE_TIMEOUT = 20.0  # seconds; XMRig's: a request unanswered this long drops the pool
CLOSE_WAIT = 0.5  # seconds a plain TCP close may take to flush before the socket is dropped


@dataclass
class Pending:
    result: Result | None  # None: a keepalived
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
        blob = bytes.fromhex(_text(params["blob"], "blob"))
        job_id = _text(params["job_id"], "job_id")
        target = target_from_hex(_text(params["target"], "target"))
        seed = bytes.fromhex(_text(params.get("seed_hash", ""), "seed_hash"))
        height = parse_height(params.get("height"))
    except KeyError as exc:
        raise UpstreamError(f"invalid job: no {exc.args[0]}") from None
    except ValueError as exc:
        raise UpstreamError(f"invalid job: {exc!s}") from None
    algo = params.get("algo") or "rx/0"
    if algo not in SUPPORTED_ALGOS:
        raise UpstreamError(f"invalid job: unsupported algo {str(algo)[:32]}")
    problem = blob_problem(blob)
    if problem:
        raise UpstreamError(f"invalid job: {problem}")
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
        next_seed_hash=next_seed(params.get("next_seed_hash")),
        extra={"conn": serial},
    )


def _text(value: Any, key: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{key} must be a string")
    return value


class StratumConnection(Upstream):
    kind = "pool"

    def __init__(
        self, *args: Any, response_timeout: float = RESPONSE_TIMEOUT, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.response_timeout = response_timeout
        self.session = ""
        self.extensions: list[str] = []
        self.nicehash = self.settings.nicehash
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._write_lock = asyncio.Lock()
        self._next_id = 1
        self._pending: dict[int, Pending] = {}  # requests sent and not answered yet
        self._last_send = time.monotonic()
        self._lost: str | None = None  # why this side dropped the connection

    # ---- connecting ------------------------------------------------------------------------
    async def open(self) -> None:
        # asyncio.timeout, not wait_for: Python 3.11's wait_for loses a cancellation that
        # arrives as the inner call finishes (a stop would then never end the retry loop)
        try:
            async with asyncio.timeout(self.timeout):
                await self._open()
        except TimeoutError:
            await self.close()
            raise UpstreamError(f"no answer within {self.timeout:g} s") from None
        except UpstreamError:
            await self.close()
            raise
        except (OSError, ssl.SSLError, EOFError, ValueError) as exc:  # ValueError: IDNA
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
        pinned = self.settings.fingerprint
        if pinned and pinned != self.fingerprint:
            raise UpstreamError(
                f"TLS fingerprint mismatch: pool certificate is {self.fingerprint}, "
                f"expected {pinned} (pool refused)"
            )

    async def _login(self) -> dict[str, Any]:
        s = self.settings
        params: dict[str, Any] = {
            "login": s.user,
            "pass": s.password if s.password is not None else "x",
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
            if msg.get("id") == login_id and not isinstance(msg.get("id"), bool):
                return msg
            log.debug("%s: ignored before login: %.200s", self.name, msg)

    def _on_login(self, reply: dict[str, Any]) -> None:
        error = reply.get("error")
        if error is not None and error is not False:
            raise UpstreamError(f"login failed: {error_message(error)}")
        result = reply.get("result")
        if not isinstance(result, dict) or "job" not in result:
            raise UpstreamError("login failed: reply has no job")
        session = result.get("id", "")
        if not isinstance(session, str | int) or isinstance(session, bool):
            raise UpstreamError("login failed: the session id is not a string")
        self.session = str(session)
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
                    raise UpstreamError(self._lost or "connection closed by the pool")
                self._dispatch(msg)
        except (OSError, ssl.SSLError) as exc:
            if self.closed:
                return
            raise UpstreamError(self._lost or describe_os_error(exc)) from None
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
            msg = jsonsafe.loads(text)
        except jsonsafe.JsonError as exc:
            raise UpstreamError(f"invalid JSON from the pool ({exc}): {text[:80]!r}") from None
        if not isinstance(msg, dict):
            raise UpstreamError(f"invalid message from the pool: {text[:80]!r}")
        return msg

    def _dispatch(self, msg: dict[str, Any]) -> None:
        method = msg.get("method")
        msg_id = msg.get("id")
        if method == "job":
            try:
                job = parse_job(msg.get("params"), self.nicehash, self.name, self.serial)
            except UpstreamError as exc:  # the job before it stays: one line, mining goes on
                log.warning("%s: %s, ignored", self.name, exc)
                self.stats.error(f"{self.name}: {exc}")
                return
            self.accept_job(job)
        elif method is not None:
            log.debug("%s: ignored method %.64r", self.name, method)
        elif isinstance(msg_id, int) and not isinstance(msg_id, bool):
            self._on_reply(msg_id, msg)
        else:
            log.debug("%s: ignored message %.200s", self.name, msg)

    def _on_reply(self, msg_id: int, msg: dict[str, Any]) -> None:
        pending = self._pending.pop(msg_id, None)
        if pending is None:
            log.debug("%s: reply to unknown id %d", self.name, msg_id)
            return
        if pending.result is None:
            return  # a keepalived answered
        ms = int((time.monotonic() - pending.sent) * 1000)
        job = pending.result.job
        reason = rejection(msg)
        r = self.stats.state.results
        if reason is not None:
            self.stats.rejected(reason)
            log.warning(
                "rejected (%d/%d) diff %d %r (%d ms)",
                r.accepted,
                r.rejected,
                job.difficulty,
                reason,
                ms,
            )
            if any(word in reason.lower() for word in RECONNECT_ERRORS):
                self._drop(f"session gone: {reason}")  # serve() ends, the client reconnects
            return
        self.stats.accepted(job, pending.result.hash, ms)
        log.info("accepted (%d/%d) diff %d (%d ms)", r.accepted, r.rejected, job.difficulty, ms)

    async def _tick(self) -> None:
        """Drop a pool that stopped answering; send keepalived when the line has been quiet."""
        keepalive = self.settings.keepalive_seconds
        while not self.closed:
            await asyncio.sleep(min(1.0, keepalive) if keepalive else 1.0)
            overdue = self._overdue()
            if overdue is not None:
                self._drop(overdue)
                return
            if keepalive and time.monotonic() - self._last_send >= keepalive:
                msg_id = await self._send("keepalived", {"id": self.session})
                if msg_id:
                    self._pending[msg_id] = Pending(None, time.monotonic())

    def _overdue(self) -> str | None:
        """Why the pool counts as gone: a request unanswered for ``response_timeout`` s."""
        now = time.monotonic()
        for p in self._pending.values():
            if now - p.sent > self.response_timeout:
                what = "keepalived"
                if p.result is not None:
                    what = f"share {p.result.nonce:08x} of job {p.result.job.job_id}"
                return f"no reply to {what} within {self.response_timeout:g} s"
        return None

    def _drop(self, reason: str) -> None:
        """This side gives the connection up (XMRig: a response timeout closes it): serve()
        ends with ``reason`` and the client reconnects or fails over."""
        self._lost = self._lost or reason
        writer = self._writer
        if writer is not None:
            writer.transport.abort()  # nothing to flush to a pool that stopped answering

    def _unanswered_shares(self) -> int:
        return sum(1 for p in self._pending.values() if p.result is not None)

    def _drop_pending(self) -> None:
        shares = self._unanswered_shares()
        self._pending.clear()
        if shares and self.closed:
            log.warning(
                "%s: %d share(s) sent and not answered before closing (the pool may count them)",
                self.name,
                shares,
            )
        elif shares:
            log.warning("%s: %d share(s) lost with the connection", self.name, shares)

    async def settle(self, timeout: float) -> None:
        """Wait at most ``timeout`` s for the replies to shares in flight (before a stop)."""
        deadline = time.monotonic() + timeout
        while self._unanswered_shares() and self._writer is not None and not self.closed:
            if time.monotonic() >= deadline:
                return
            await asyncio.sleep(0.02)

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
            async with self._write_lock, asyncio.timeout(self.response_timeout):
                self._writer.write(line.encode() + b"\n")
                await self._writer.drain()
        except TimeoutError:
            self._drop(f"the pool took no data for {self.response_timeout:g} s")
            return 0
        except (OSError, ssl.SSLError, RuntimeError) as exc:
            log.debug("%s: write failed: %s", self.name, exc)
            self._drop(describe_os_error(exc))
            return 0
        self._last_send = time.monotonic()
        return msg_id

    async def close(self) -> None:
        """Close at once: plain TCP gets CLOSE_WAIT s to flush; over TLS our close_notify is
        sent but the pool's is not waited for (a pool that does not answer it would hold
        every close for the whole TLS shutdown timeout)."""
        self.closed = True
        writer, self._writer = self._writer, None
        if writer is None:
            return
        if not writer.is_closing():  # after _drop() the transport is aborted already
            writer.close()
        if not self.settings.use_tls:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(CLOSE_WAIT):
                    await writer.wait_closed()
        writer.transport.abort()
        await asyncio.sleep(0)  # the transport's connection_lost runs: the socket is closed


def rejection(reply: dict[str, Any]) -> str | None:
    """Why a reply to a submit rejects the share; None when it accepts it.

    Any ``error`` other than null rejects (``{}`` too, as XMRig), so does a ``status`` other
    than OK; a reply with neither an error nor a result object is no acceptance either.
    """
    error = reply.get("error")
    if error is not None and error is not False:
        return error_message(error)
    result = reply.get("result")
    if result is True:
        return None
    if not isinstance(result, dict):
        return "reply without a result"
    status = result.get("status", "OK")
    if isinstance(status, str) and status.upper() == "OK":
        return None
    return f"status {str(status)[:64]}"


def error_message(error: Any) -> str:
    if isinstance(error, dict):
        text = error.get("message") or error.get("code") or "error without a message"
        return str(text)[:200]
    return str(error)[:200]


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
