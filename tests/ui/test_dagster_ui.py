"""The Dagster UI in a real browser: the webserver on loopback, headless Chromium (Debian's
`chromium`, driven by Playwright), the asset graph, an asset's checks and the schedules.

Screenshots land in data/screenshots/ (git-ignored) for a human to look at.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipelines.settings import PROJECT_ROOT

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
SCREENSHOTS = PROJECT_ROOT / "data" / "screenshots"
LOCATION = "pipelines.definitions"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _require_browser() -> None:
    if Path(CHROMIUM).exists():
        return
    message = f"{CHROMIUM} not found: apt-get install -y chromium (.ci/run does)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def webserver(demo_dir: Path, tmp_path: Path) -> Iterator[str]:
    _require_browser()
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(PROJECT_ROOT / "dagster_home" / "dagster.yaml", home)
    port = _free_port()
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "DEMO_DATA_DIR": str(demo_dir),
        "SOURCES_CONFIG": str(PROJECT_ROOT / "sources" / "sources.yaml"),
        "CUSTOMER_STORE_URL": f"duckdb:///{tmp_path / 'store' / 'customer_store.duckdb'}",
        "CUSTOMER_STORE_WORK_DIR": str(tmp_path / "work"),
    }
    webserver_bin = Path(sys.executable).with_name("dagster-webserver")
    log = (tmp_path / "webserver.log").open("w")
    process = subprocess.Popen(
        [str(webserver_bin), "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its code server child is stopped with it
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/server_info", timeout=2) as response:  # noqa: S310
                    if response.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"webserver did not start: {(tmp_path / 'webserver.log').read_text()}")
            time.sleep(0.5)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        log.close()


def test_ui_shows_assets_checks_and_schedules(webserver: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.set_default_timeout(30_000)

        def visit(path: str) -> None:
            page.goto(webserver + path)
            skip = page.get_by_role("button", name="Skip")  # first-visit community dialog
            try:
                skip.wait_for(timeout=3_000)
                skip.click()
            except Exception:  # noqa: BLE001 - the dialog only shows once per browser
                pass

        # The global asset graph: every stage's group is there.
        visit("/asset-groups")
        for group in ("cleanse", "link", "identity", "marts", "store", "sales", "finance"):
            expect(page.get_by_text(group, exact=True).first).to_be_visible()
        page.screenshot(path=SCREENSHOTS / "asset_graph.png")

        # The store group's graph: the four governed tables and what they are built from.
        visit(f"/locations/{LOCATION}/asset-groups/store")
        for asset in ("customer", "customer_source_xref", "quarantined_record", "customer_360",
                      "golden_records", "customer_identity"):
            expect(page.get_by_text(asset, exact=True).first).to_be_visible()
        page.screenshot(path=SCREENSHOTS / "store_graph.png")

        # An asset's checks page.
        visit("/assets/core/customer?view=checks")
        for check in ("core_customer_contract", "core_customer_keys_unique",
                      "referential_integrity", "store_freshness"):
            expect(page.get_by_text(check, exact=True).first).to_be_visible()
        page.screenshot(path=SCREENSHOTS / "customer_checks.png")

        # Schedules and sensors.
        visit("/automation")
        for name in ("nightly_sync_schedule", "weekly_full_relink_schedule",
                     "store_freshness_schedule", "drop_folder_sensor", "alert_on_run_failure"):
            expect(page.get_by_text(name, exact=True).first).to_be_visible()
        page.screenshot(path=SCREENSHOTS / "automation.png")
        browser.close()
    assert (SCREENSHOTS / "customer_checks.png").stat().st_size > 10_000
