"""The built-in dashboard in a real browser: Debian's chromium driven through chromedriver by
Selenium, against a running miner (light mode, one thread) on 127.0.0.1."""

from __future__ import annotations

import re
import shutil
import signal
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from tests.api_support import JSON, TOKEN, Request, RunningMiner, auth
from tests.cli_support import spawn
from tests.monerod import free_port
from tests.test_bench_cli import wait_for
from xminer.api.dashboard import dashboard_url
from xminer.config.model import Http

pytestmark = pytest.mark.timeout(300)

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FULL = Http(enabled=True, port=0, access_token=TOKEN, restricted=False)
NO_TOKEN_RESTRICTED = Http(enabled=True, port=0, access_token=None, restricted=True)
WAIT = 120  # seconds: a busy 2-core machine starts chromium and the miner slowly
RATE = re.compile(r"^\d+\.\d\d [kM]?H/s$")


@pytest.fixture(scope="module")
def rm() -> Iterator[RunningMiner]:
    with RunningMiner(FULL) as running:
        yield running


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    for path in (CHROMIUM, CHROMEDRIVER):
        assert shutil.which(path), f"{path} is missing: tools/install-deps.sh installs it"
    tmp = tmp_path_factory.mktemp("chromium")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                "--window-size=1280,1700", f"--user-data-dir={tmp / 'profile'}"):  # fmt: skip
        options.add_argument(arg)
    service = Service(CHROMEDRIVER, log_output=str(tmp / "chromedriver.log"))
    driver = webdriver.Chrome(service=service, options=options)
    try:
        yield driver
    finally:
        driver.quit()


def wait(driver: WebDriver, what: Any, message: str) -> Any:
    return WebDriverWait(driver, WAIT, poll_frequency=0.5).until(what, message)


def text(driver: WebDriver, element_id: str) -> str:
    return driver.find_element(By.ID, element_id).text


def log_in(driver: WebDriver, token: str) -> None:
    wait(driver, lambda d: d.find_element(By.ID, "login").is_displayed(), "no token prompt")
    field = driver.find_element(By.ID, "token")
    field.send_keys(token)
    driver.find_element(By.ID, "login-submit").click()


def series_pixels(driver: WebDriver, chart: str) -> int:
    """Pixels of the chart in its first series' colour (#4c9be8), give or take antialiasing."""
    return driver.execute_script(
        """const c = document.getElementById(arguments[0]);
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        const near = (i, v) => Math.abs(d[i] - v) < 30;
        let n = 0;
        for (let i = 0; i < d.length; i += 4)
          if (near(i, 76) && near(i + 1, 155) && near(i + 2, 232)) n++;
        return n;""",
        chart,
    )


def test_dashboard_shows_the_miner_and_pauses_it(
    rm: RunningMiner, browser: WebDriver, tmp_path: Path
) -> None:
    browser.get(f"http://127.0.0.1:{rm.port}/")
    assert browser.title == "xminer"
    log_in(browser, "WRONG")
    wait(browser, lambda d: "refused" in text(d, "login-why"), "a wrong token is not refused")
    browser.find_element(By.ID, "token").clear()
    log_in(browser, TOKEN)
    wait(browser, lambda d: not d.find_element(By.ID, "login").is_displayed(), "still asking")

    def cpu_row(d: WebDriver) -> bool:
        rows = d.find_elements(By.CSS_SELECTOR, "#backends tbody tr")
        cells = [r.text.split() for r in rows]
        return [c[:4] for c in cells if c] == [
            ["cpu", "yes", "rx", "1"], ["opencl", "no", "-", "0"], ["cuda", "no", "-", "0"]
        ]  # fmt: skip

    wait(browser, cpu_row, "the backends table does not show the CPU backend hashing")
    wait(browser, lambda d: RATE.match(text(d, "hr-10s")), "no 10 s hashrate shown")
    first = text(browser, "hr-10s")
    wait(browser, lambda d: RATE.match(text(d, "hr-10s")) and text(d, "hr-10s") != first,
         f"the hashrate stays {first}")  # fmt: skip
    assert text(browser, "state") == "hashing"
    wait(browser, lambda d: series_pixels(d, "chart-backends") > 20, "no hashrate line drawn")
    assert "cpu #0" in text(browser, "legend-threads")
    assert '"cpu"' in browser.find_element(By.ID, "config").get_attribute("value")

    browser.find_element(By.ID, "pause").click()
    rm.wait_for(lambda: rm.get("/2/summary").json()["paused"] is True)
    wait(browser, lambda d: text(d, "state") == "paused", "the page does not show the pause")
    browser.save_screenshot(str(tmp_path / "dashboard-paused.png"))
    browser.find_element(By.ID, "resume").click()
    rm.wait_for(lambda: rm.get("/2/summary").json()["paused"] is False)
    wait(browser, lambda d: text(d, "state") == "hashing", "the page does not show the resume")
    browser.save_screenshot(str(tmp_path / "dashboard.png"))
    assert (tmp_path / "dashboard.png").stat().st_size > 10_000

    browser.find_element(By.ID, "stop").click()
    rm.wait_for(lambda: b"xminer_stopped 1.0" in rm.get("/metrics").body)
    wait(browser, lambda d: text(d, "state") == "stopped", "the page does not show the stop")
    browser.find_element(By.ID, "start").click()
    rm.wait_for(lambda: b"xminer_stopped 0.0" in rm.get("/metrics").body)

    def hashing_again(d: WebDriver) -> bool:
        rate = text(d, "hr-10s")
        return text(d, "state") == "hashing" and bool(RATE.match(rate)) and rate != "0.00 H/s"

    wait(browser, hashing_again, "no hashrate after start")


def test_restricted_dashboard_needs_no_token_and_only_reads(
    rm: RunningMiner, browser: WebDriver
) -> None:
    assert rm.api is not None
    before = rm.api.http
    rm.rebind(NO_TOKEN_RESTRICTED)
    try:
        browser.execute_script("sessionStorage.clear()")
        browser.get(f"http://127.0.0.1:{rm.port}/")
        wait(browser, lambda d: RATE.match(text(d, "hr-60s")) or text(d, "hr-10s") != "n/a",
             "no hashrate without a token")  # fmt: skip
        assert not browser.find_element(By.ID, "login").is_displayed()
        assert not browser.find_element(By.ID, "pause").is_enabled()
        wait(browser, lambda d: "Restricted mode" in text(d, "config-note"), "config shown")
        assert not browser.find_element(By.ID, "config").is_displayed()
    finally:
        rm.rebind(before)


def test_page_files_need_no_token_and_load_nothing_from_elsewhere(rm: RunningMiner) -> None:
    page = rm.get("/", token=None)
    assert page.status == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert "connect-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["access-control-allow-origin"] == "*"
    assert not re.search(rb"(src|href)=\"(https?:)?//", page.body)  # no CDN
    script = rm.get("/dashboard/app.js", token=None)
    assert script.status == 200
    assert script.headers["content-type"] == "text/javascript; charset=utf-8"
    assert rm.get("/dashboard/style.css", token=None).status == 200
    assert rm.get("/dashboard/nope.js", token=None).status == 404
    assert rm.get("/2/summary", token=None).status == 401  # the data still needs the token
    post = rm.request(Request("POST", "/", {**auth(TOKEN), **JSON}, b"{}"))
    assert post.status == 404


def test_banner_names_the_dashboard(tmp_path: Path) -> None:
    """``make bench`` shows where the page is, under the API's line; the URL serves it."""
    port = free_port()
    proc = spawn("--bench=10M", "--randomx-mode=light", "-t", "1", "--print-time=0",
                 "--http-host=127.0.0.1", f"--http-port={port}", home=tmp_path)  # fmt: skip
    try:
        lines = wait_for(proc, r"\* DASHBOARD ", 60)
        assert re.search(rf"\* HTTP API +127\.0\.0\.1:{port}$", lines[-2]), lines
        url = lines[-1].split()[-1]
        assert url == f"http://127.0.0.1:{port}/"
        with urllib.request.urlopen(url, timeout=10) as reply:
            assert b'<script src="/dashboard/app.js"' in reply.read()
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("127.0.0.1", "http://127.0.0.1:80/"),
        ("0.0.0.0", "http://127.0.0.1:80/"),
        ("::", "http://[::1]:80/"),
        ("::1", "http://[::1]:80/"),
        ("192.0.2.7", "http://192.0.2.7:80/"),
    ],
)
def test_dashboard_url_for_each_bind(host: str, url: str) -> None:
    assert dashboard_url(host, 80) == url
