"""Solo mining against monerod: poll ``get_block_template``, submit blocks with ``submit_block``."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from tornado.httpclient import AsyncHTTPClient, HTTPClientError

from xminer import jsonsafe
from xminer.job import MAX_TARGET, Job, Result, next_seed
from xminer.net.upstream import Upstream, UpstreamError, blob_problem, parse_height, resolve
from xminer.randomx.scan import NONCE_OFFSET

log = logging.getLogger("xminer.daemon")
RESERVE_SIZE = 8
MAX_DIFFICULTY = 1 << 128


class RpcError(UpstreamError):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{message} (code {code})")
        self.code = code
        self.message = message


class BadReply(UpstreamError):
    """The daemon answered, but with something unusable (not JSON, a broken template)."""


def rpc_error(error: Any) -> RpcError:
    """The ``error`` member of a reply as an RpcError, whatever its shape."""
    if not isinstance(error, dict):
        return RpcError(0, str(error)[:200])
    code = error.get("code", 0)
    if isinstance(code, bool) or not isinstance(code, int):
        code = 0
    return RpcError(code, str(error.get("message") or "error without a message")[:200])


def block_found(digest: bytes, difficulty: int) -> bool:
    """Monero's rule: the hash as a 256-bit little-endian number times the difficulty < 2^256."""
    return int.from_bytes(digest, "little") * difficulty < 1 << 256


def share_target(difficulty: int) -> int:
    """A 64-bit tail target that every block candidate meets (checked in full before submit)."""
    if difficulty <= 1:
        return MAX_TARGET
    return min(MAX_TARGET, (1 << 64) // difficulty + 1)


def template_difficulty(tpl: dict[str, Any]) -> int:
    """``wide_difficulty`` (hex) or ``difficulty``; ``ValueError`` unless 1..2^128-1."""
    wide = tpl.get("wide_difficulty")
    if isinstance(wide, str) and wide:
        try:
            value = int(wide, 16)
        except ValueError:
            raise ValueError(f"wide_difficulty {wide[:40]!r} is not hex") from None
    else:
        value = tpl.get("difficulty")
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"difficulty {str(value)[:40]!r} is not a whole number")
    if not 0 < value < MAX_DIFFICULTY:
        raise ValueError(f"difficulty {value} is out of range")
    return value


class JsonRpc:
    """monerod's JSON-RPC endpoint (``http://host:port/json_rpc``)."""

    def __init__(self, host: str, port: int, tls: bool, timeout: float) -> None:
        scheme = "https" if tls else "http"
        host = f"[{host}]" if ":" in host else host
        self.url = f"{scheme}://{host}:{port}/json_rpc"
        self.timeout = timeout
        self.http = AsyncHTTPClient(force_instance=True)
        self._id = 0

    async def call(self, method: str, params: Any = None) -> Any:
        self._id += 1
        body = {"jsonrpc": "2.0", "id": self._id, "method": method}
        if params is not None:
            body["params"] = params
        try:
            resp = await self.http.fetch(
                self.url,
                method="POST",
                body=json.dumps(body),
                headers={"Content-Type": "application/json"},
                request_timeout=self.timeout,
                connect_timeout=self.timeout,
                validate_cert=False,
            )
        except HTTPClientError as exc:
            raise UpstreamError(f"{method}: HTTP {exc.code} {exc.message}") from None
        except (TimeoutError, OSError) as exc:
            raise UpstreamError(f"{method}: {exc or type(exc).__name__}") from None
        try:
            reply = jsonsafe.loads(resp.body)
        except jsonsafe.JsonError as exc:
            raise BadReply(f"{method}: from the daemon: {exc}") from None
        if not isinstance(reply, dict):
            raise BadReply(f"{method}: invalid reply from the daemon")
        error = reply.get("error")
        if error is not None:
            raise rpc_error(error)
        return reply.get("result")

    def close(self) -> None:
        self.http.close()


class DaemonConnection(Upstream):
    """Mines ``blockhashing_blob``; a hash that meets the block difficulty becomes a block."""

    kind = "daemon"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rpc = JsonRpc(self.url.host, self.url.port, self.settings.use_tls, self.timeout)
        self.template: dict[str, Any] = {}
        self._jobs: dict[str, dict[str, Any]] = {}  # job_id -> template, the last few
        self._mined: set[str] = set()  # job ids a block was submitted for
        self._count = 0
        self.blocks: list[tuple[Job, int, bytes]] = []  # accepted: job, nonce, PoW hash
        self._refresh = asyncio.Event()
        self._bad = ""  # the last broken template's fault, logged once

    async def open(self) -> None:
        try:
            self.ip = await resolve(self.url.host)
            self._use(await self._fetch_template())
        except UpstreamError:
            self.rpc.close()
            raise

    async def _fetch_template(self) -> dict[str, Any]:
        params = {"wallet_address": self.settings.user, "reserve_size": RESERVE_SIZE}
        tpl = await self.rpc.call("get_block_template", params)
        if not isinstance(tpl, dict) or "blockhashing_blob" not in tpl:
            raise BadReply("get_block_template: reply has no blockhashing_blob")
        return tpl

    def _job_of(self, tpl: dict[str, Any]) -> Job:
        """The job a template gives; ``BadReply`` naming the broken field."""
        try:
            difficulty = template_difficulty(tpl)
            height = parse_height(tpl.get("height"))
            blob = bytes.fromhex(tpl["blockhashing_blob"])
            seed = bytes.fromhex(tpl["seed_hash"])
            block = bytes.fromhex(tpl["blocktemplate_blob"])
        except KeyError as exc:
            raise BadReply(f"get_block_template: invalid template (no {exc.args[0]})") from None
        except (ValueError, TypeError) as exc:
            raise BadReply(f"get_block_template: invalid template ({exc!s})") from None
        problem = blob_problem(blob)
        if problem is None and len(block) < NONCE_OFFSET + 4:
            problem = f"blocktemplate_blob of {len(block)} bytes"
        if problem is None and len(seed) != 32:
            problem = "seed_hash must be 32 bytes"
        if problem is not None:
            raise BadReply(f"get_block_template: invalid template ({problem})")
        return Job(
            job_id=f"{height}-{self._count + 1}",
            blob=blob,
            seed_hash=seed,
            target=share_target(difficulty),
            height=height,
            source=self.name,
            block_difficulty=difficulty,
            next_seed_hash=next_seed(tpl.get("next_seed_hash")),
            extra={"conn": self.serial},
        )

    def _use(self, tpl: dict[str, Any]) -> Job:
        """A job for a template (a new job only when the chain tip or seed changed)."""
        job = self._job_of(tpl)
        self._count += 1
        difficulty = job.block_difficulty
        self.template = tpl
        self._jobs[job.job_id] = tpl
        while len(self._jobs) > 4:
            self._jobs.pop(next(iter(self._jobs)))
        self.job = job
        log.info(
            "new block template height %d diff %d txs %d",
            job.height,
            difficulty,
            len(tpl.get("tx_hashes") or []) if isinstance(tpl.get("tx_hashes"), list) else 0,
        )
        return job

    def _changed(self, tpl: dict[str, Any]) -> bool:
        old = self.template
        keys = ("height", "prev_hash", "seed_hash", "next_seed_hash", "wide_difficulty")
        return any(tpl.get(k) != old.get(k) for k in keys)

    async def serve(self) -> None:
        interval = self.settings.daemon_poll_interval / 1000
        while not self.closed:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(interval):  # not wait_for: see StratumConnection.open
                    await self._refresh.wait()
            self._refresh.clear()
            if self.closed:
                return
            try:
                tpl = await self._fetch_template()
                if self._changed(tpl):
                    self.accept_job(self._use(tpl))
                    self._bad = ""
            except BadReply as exc:  # the job before it stays: logged once, mining goes on
                self._refused(str(exc))

    def _refused(self, fault: str) -> None:
        if fault != self._bad:
            self._bad = fault
            log.warning("%s (ignored, mining goes on with the previous template)", fault)
            self.stats.error(f"{self.name}: {fault}")

    async def submit(self, result: Result) -> None:
        job = result.job
        if job.job_id in self._mined:
            log.debug("template %s already mined, candidate dropped", job.job_id)
            return
        if not block_found(result.hash, job.block_difficulty):
            log.debug("nonce %08x meets the share target, not the block difficulty", result.nonce)
            return
        await self.submit_block(job, result.nonce, result.hash)

    async def submit_block(self, job: Job, nonce: int, digest: bytes = b"") -> bool:
        """Put the nonce into the template and submit it; True when it became the chain tip.

        Counts an accepted or rejected share; submits whatever it is given (tests use that to
        send a block with a wrong nonce).
        """
        tpl = self._jobs.get(job.job_id)
        if tpl is None:
            log.info("template %s is no longer known, block dropped", job.job_id)
            return False
        self._mined.add(job.job_id)
        blob = bytearray(bytes.fromhex(tpl["blocktemplate_blob"]))
        blob[NONCE_OFFSET : NONCE_OFFSET + 4] = nonce.to_bytes(4, "little")
        loop = asyncio.get_running_loop()
        sent = loop.time()
        try:
            await self.rpc.call("submit_block", [blob.hex()])
            block_hash = await self._check_tip(job.height, nonce)
        except RpcError as exc:
            self._rejected(job, exc.message)
            return False
        except UpstreamError as exc:
            log.warning("block of height %d: %s (not known whether it was taken)", job.height, exc)
            self.stats.error(f"{self.name}: {exc}")
            return False
        finally:
            self._refresh.set()  # fetch the next template now
        ms = int((loop.time() - sent) * 1000)
        if block_hash is None:
            self._rejected(job, "block not on the main chain")
            return False
        self.stats.accepted(job, digest or b"\0" * 32, ms)
        self.blocks.append((job, nonce, digest))
        r = self.stats.state.results
        log.info(
            "block accepted (%d/%d) diff %d height %d hash %s (%d ms)",
            r.accepted,
            r.rejected,
            job.block_difficulty,
            job.height,
            block_hash,
            ms,
        )
        return True

    async def _check_tip(self, height: int, nonce: int) -> str | None:
        """submit_block may say OK for an alt block: the main chain must hold our nonce.

        The block's hash as monerod reports it when it does, else None.
        """
        reply = await self.rpc.call("get_block_header_by_height", {"height": height})
        header = reply.get("block_header", {}) if isinstance(reply, dict) else {}
        if not isinstance(header, dict) or header.get("nonce") != nonce:
            return None
        return str(header.get("hash") or "?")

    def _rejected(self, job: Job, reason: str) -> None:
        self.stats.rejected(reason)
        r = self.stats.state.results
        log.warning(
            "block rejected (%d/%d) height %d: %s", r.accepted, r.rejected, job.height, reason
        )

    async def close(self) -> None:
        self.closed = True
        self._refresh.set()
        self.rpc.close()
