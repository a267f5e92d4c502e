"""Fuzz the API over its OpenAPI document (schemathesis + hypothesis), 127.0.0.1 only: no 5xx,
CORS on every reply, documented replies match their schemas, and the miner survives."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.api_support import OPENAPI, TOKEN, Request, RunningMiner, auth
from xminer.config.model import Http

pytestmark = pytest.mark.timeout(300)

SCHEMA = schemathesis.openapi.from_path(str(OPENAPI))
CASES = st.one_of(
    SCHEMA.as_strategy(GenerationMode.POSITIVE), SCHEMA.as_strategy(GenerationMode.NEGATIVE)
)
BUDGET_S = 60.0  # examples past this are not sent (hypothesis still counts them)
FUZZ = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
    database=None,
)


@pytest.fixture(scope="module")
def rm() -> Iterator[RunningMiner]:
    api = Http(enabled=True, port=0, access_token=TOKEN, restricted=False)
    with RunningMiner(api) as running:
        yield running


def allowed(rm: RunningMiner, status: int) -> bool:
    """No server error; 501 only for a PUT on a miner without a config manager."""
    return status < 500 or (status == 501 and rm.app is None)


def cors(headers: dict[str, list[str]]) -> bool:
    return headers.get("access-control-allow-origin") == ["*"]


def test_fuzz_openapi_operations(rm: RunningMiner) -> None:
    base = f"http://127.0.0.1:{rm.port}"
    start = time.monotonic()
    sent: list[str] = []
    session = requests.Session()

    @FUZZ
    @given(case=CASES, token=st.sampled_from([TOKEN, TOKEN, None, "x"]))
    def run(case: schemathesis.Case, token: str | None) -> None:
        if time.monotonic() - start > BUDGET_S:
            return
        sent.append(case.method)
        response = case.call(base_url=base, session=session, headers=auth(token), timeout=30)
        assert allowed(rm, response.status_code), (case.method, case.path, case.body)
        assert cors(response.headers)
        if response.status_code == 200 and token == TOKEN:
            case.validate_response(
                response, checks=[not_a_server_error, response_schema_conformance]
            )

    run()
    assert len(sent) >= 50, "the time budget cut the fuzzing short"
    assert rm.get("/2/summary").status == 200


METHODS = st.sampled_from(["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "FOO"])
PATHS = st.one_of(
    st.sampled_from(sorted(SCHEMA.raw_schema["paths"])),
    st.text(st.characters(min_codepoint=33, max_codepoint=126), max_size=30).map(
        lambda s: "/" + s.replace("?", "").replace("#", "")
    ),
)
HEADERS = st.fixed_dictionaries(
    {},
    optional={
        "Authorization": st.sampled_from([f"Bearer {TOKEN}", "Bearer", "", "bearer x", "Basic a"]),
        "Content-Type": st.sampled_from(
            ["application/json", "application/json; charset=utf-8", "text/plain", "", "json"]
        ),
    },
)


def test_fuzz_raw_requests(rm: RunningMiner) -> None:
    """Methods, paths, headers and bodies outside the document."""
    start = time.monotonic()
    sent: list[str] = []

    @FUZZ
    @given(method=METHODS, path=PATHS, headers=HEADERS, body=st.binary(max_size=2048))
    def run(method: str, path: str, headers: dict[str, str], body: bytes) -> None:
        if time.monotonic() - start > BUDGET_S / 2:
            return
        payload = None if method in ("GET", "HEAD", "OPTIONS") else body
        sent.append(method)
        reply = rm.request(Request(method, path, headers, payload))
        assert allowed(rm, reply.status), (method, path, headers, body)
        assert reply.headers.get("access-control-allow-origin") == "*" or path == "/favicon.ico"

    run()
    assert len(sent) >= 50, "the time budget cut the fuzzing short"
    assert rm.get("/2/summary").status == 200
