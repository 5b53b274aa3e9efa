"""The Dagster UI, tested as a person uses it.

A temporary project holds the sample data; its partitioned sources (every log day, every synthetic batch) are
ingested in-process on the project's own DAGSTER_HOME instance, as `ftdata run` does. Then `dagster dev` serves
that instance and headless Chromium (Debian's, driven by Playwright) opens the asset graph and the `curate`
job, launches the run by clicking (Materialize all's launchpad, with the in-process executor so the run takes
about a minute on two cores instead of a subprocess per step), waits for Success and reads on the asset pages
what a person checks: row counts, PII counts, the data card and the checks that passed. The run is
cross-checked through Dagster's GraphQL endpoint.

Screenshots go to $FTDATA_UI_SCREENSHOTS, else <repo>/test-artifacts/ui/, with the `dagster dev` log beside them.
Needs the `playwright` package (the `test` extra) and Chromium at /usr/bin/chromium (Debian's `chromium`
package; or $FTDATA_CHROMIUM); `playwright install` is never needed. Missing either is a failure, not a skip.
"""

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from tests.conftest import REPO_ROOT, make_project

CHROMIUM = Path(os.environ.get("FTDATA_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SERVER_TIMEOUT_S = 180
RUN_TIMEOUT_S = 360
STOP_TIMEOUT_S = 30
UI_TIMEOUT_MS = 60_000
IN_PROCESS = "execution: {config: {in_process: {}}}"
"""Launchpad config: one line, so the editor's auto-indent cannot reshape it; every resource keeps its default."""
CHECKS_PASSED = {"scrubbed_examples": "no_pii_left", "ledger": "ledger_balances", "test": "splits_disjoint"}


def screenshot_dir() -> Path:
    folder = Path(os.environ.get("FTDATA_UI_SCREENSHOTS") or REPO_ROOT / "test-artifacts" / "ui")
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("[0-9][0-9]-*.png"):  # only this test's own files, never anything else there
        old.unlink()
    return folder


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def graphql(base_url: str, query: str, variables: dict | None = None) -> dict:
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    request = urllib.request.Request(f"{base_url}/graphql", body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        payload = json.loads(response.read())
    assert "errors" not in payload, payload
    return payload["data"]


def ingest_partitions(root: Path, home: Path) -> None:
    """What `ftdata run` does before `curate`: one ingest run and one row-local run per log day and per
    synthetic batch, on the same instance `dagster dev` serves, so the UI's curate run finds every partition
    materialized."""
    from ftdata_assets.defs.build import build_definitions
    from ftdata_assets.defs.partitions import synthetic_batches
    from ftdata_assets.defs.runner import QUIET_CONSOLE, log_days
    from ftdata_assets.project import Project, data_file_stem

    project = Project(root)
    defs = build_definitions(root)
    batches = [data_file_stem(p) for p in project.source_files("synthetic")]
    runs = [("ingest_production_logs", day) for day in log_days(project)]
    runs += [("ingest_synthetic_batch", batch) for batch in batches]
    runs += [("prepare_production_logs_partition", day) for day in log_days(project)]
    runs += [("prepare_synthetic_partition", batch) for batch in batches]
    with dg.DagsterInstance.from_config(str(home)) as instance:
        instance.add_dynamic_partitions(synthetic_batches.name, batches)
        for job_name, key in runs:
            result = defs.resolve_job_def(job_name).execute_in_process(
                instance=instance, partition_key=key, run_config=QUIET_CONSOLE
            )
            assert result.success, (job_name, key)


def log_tail(log: Path, lines: int = 40) -> str:
    text = log.read_text(errors="replace") if log.exists() else ""
    return "\n".join(text.splitlines()[-lines:])


@contextlib.contextmanager
def dagster_dev(root: Path, home: Path, log: Path) -> Iterator[str]:
    """`dagster dev` in its own process group; yields its base URL once the code location has loaded. The
    whole group is stopped on the way out: SIGTERM, then SIGKILL if anything is left after STOP_TIMEOUT_S."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "DAGSTER_HOME": str(home), "FTDATA_PROJECT_DIR": str(root)}
    for name in ("FTDATA_EXECUTOR", "FTDATA_EXECUTOR_CONFIG"):  # Dagster's default executor: the launchpad's
        env.pop(name, None)  # `in_process` config below is written for it
    command = [sys.executable, "-m", "dagster", "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)]
    # dagster dev stops its services with SIGINT; an ignored SIGINT (pytest started with `&` from a script) is
    # inherited through exec and would leave them running. A handler is reset to the default by exec.
    previous = signal.getsignal(signal.SIGINT)
    if previous == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with log.open("wb") as out:
            proc = subprocess.Popen(
                command, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
    finally:
        if previous == signal.SIG_IGN:
            signal.signal(signal.SIGINT, previous)
    try:
        wait_until_served(base_url, proc, log)
        yield base_url
    finally:
        stop_group(proc)


def wait_until_served(base_url: str, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + SERVER_TIMEOUT_S
    while True:
        assert proc.poll() is None, f"dagster dev exited with {proc.returncode}:\n{log_tail(log)}"
        assert time.monotonic() < deadline, f"dagster dev not serving after {SERVER_TIMEOUT_S}s:\n{log_tail(log)}"
        try:
            with urllib.request.urlopen(f"{base_url}/server_info", timeout=5) as response:
                json.loads(response.read())
            entries = graphql(
                base_url,
                "{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus"
                " locationOrLoadError { __typename ... on PythonError { message } } } } } }",
            )["workspaceOrError"]["locationEntries"]
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(1)
            continue
        loaded = [e for e in entries if e["name"] == "ftdata" and e["loadStatus"] == "LOADED"]
        if loaded:
            location = loaded[0]["locationOrLoadError"]
            assert location["__typename"] == "RepositoryLocation", f"code location failed to load: {location}"
            return
        time.sleep(1)


def stop_group(proc: subprocess.Popen) -> None:
    def group_alive() -> bool:
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            return False
        return True

    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while time.monotonic() < deadline:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=0.5)
            if proc.returncode is not None and not group_alive():
                return
        print(f"dagster dev process group {proc.pid} still alive {STOP_TIMEOUT_S}s after {sig.name}")


def metadata_value(page, key: str) -> str:
    """The value cell of the metadata table row whose key cell is `key`, scrolled into view."""
    row = page.get_by_role("row").filter(has=page.get_by_role("cell", name=key, exact=True)).first
    row.scroll_into_view_if_needed(timeout=UI_TIMEOUT_MS)
    return row.get_by_role("cell").last.inner_text().strip()


def as_int(text: str) -> int:
    return int(text.replace(",", ""))


def test_materialize_from_the_ui(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        pytest.fail(
            "playwright is not installed: pip install -c constraints.txt -e '.[test]' (no `playwright install`)"
        )
    if not CHROMIUM.is_file():
        pytest.fail(f"no Chromium at {CHROMIUM}: apt-get install -y --no-install-recommends chromium")

    shots_dir = screenshot_dir()
    shots: list[Path] = []
    started = time.monotonic()
    timings: list[str] = []

    def lap(name: str) -> None:
        timings.append(f"{name} {time.monotonic() - started:.0f}s")

    root = make_project(tmp_path / "project")
    home = root / "dagster_home"
    home.mkdir()
    shutil.copy2(REPO_ROOT / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
    ingest_partitions(root, home)
    lap("partitions ingested")
    log = tmp_path / "dagster-dev.log"

    def shot(page, name: str) -> None:
        path = shots_dir / f"{len(shots) + 1:02d}-{name}.png"
        page.screenshot(path=str(path))
        shots.append(path)

    try:
        with dagster_dev(root, home, log) as base_url, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS, headless=True)
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.set_default_timeout(UI_TIMEOUT_MS)
            expect.set_options(timeout=UI_TIMEOUT_MS)
            lap("UI served")
            try:
                run_id = launch_curate_from_the_ui(page, base_url, shot, expect)
                lap("run launched")
                wait_for_success(page, base_url, run_id, shot, expect)
                lap("run succeeded")
                check_asset_pages(page, base_url, root, shot, expect)
                check_through_graphql(base_url, run_id)
                lap("asset pages checked")
            except BaseException:
                with contextlib.suppress(Exception):
                    shot(page, "failure")
                raise
            finally:
                browser.close()
    finally:
        lap("dagster dev stopped")
        if log.exists():
            shutil.copy2(log, shots_dir / "dagster-dev.log")
        with capsys.disabled():
            print(f"\nUI test timings: {', '.join(timings)}")
            print(f"UI screenshots ({shots_dir}):")
            for path in shots:
                print(f"  {path}")


def launch_curate_from_the_ui(page, base_url: str, shot, expect) -> str:
    """Asset graph -> Jobs -> curate -> Materialize all's menu -> Open launchpad -> in-process -> Materialize."""
    page.goto(f"{base_url}/asset-groups")
    for group in ("ingest", "prepare", "curate", "review", "release"):
        expect(page.get_by_text(group, exact=True).first).to_be_visible()
    shot(page, "asset-graph")

    page.get_by_role("link").filter(has_text=re.compile(r"^Jobs$")).first.click()
    page.get_by_role("link").filter(has_text=re.compile(r"^curate$")).first.click()
    expect(page).to_have_url(re.compile(r"/jobs/curate"))
    materialize_all = page.get_by_role("button", name="Materialize all")
    expect(materialize_all).to_be_enabled()
    shot(page, "curate-job")

    more = page.get_by_role("button").filter(has=page.get_by_role("img", name="arrow_drop_down"))
    more.locator("visible=true").first.click()
    page.get_by_role("menuitem", name="Open launchpad").click()
    launchpad = page.get_by_role("dialog").filter(has_text="Launchpad (configure assets)")
    expect(launchpad).to_be_visible()
    editor = launchpad.locator(".CodeMirror").first
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.type(IN_PROCESS)
    assert editor.evaluate("e => e.CodeMirror.getValue()").strip() == IN_PROCESS
    expect(page.get_by_text("No errors")).to_be_visible()
    shot(page, "launchpad")

    page.get_by_role("button").filter(has_text=re.compile(r"^Materialize$")).click()
    page.wait_for_url(re.compile(r"/runs/[0-9a-f-]{36}"))
    return re.search(r"/runs/([0-9a-f-]{36})", page.url).group(1)


def wait_for_success(page, base_url: str, run_id: str, shot, expect) -> None:
    """Watch the run page until it says Success; the GraphQL status ends the wait early on a failure."""
    query = "query($id: ID!) { runOrError(runId: $id) { __typename ... on Run { status jobName } } }"
    success = page.get_by_text("Success", exact=True).first
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while not success.is_visible():
        status = graphql(base_url, query, {"id": run_id})["runOrError"]["status"]
        assert status not in ("FAILURE", "CANCELED", "CANCELING"), f"run {run_id} ended {status}"
        assert time.monotonic() < deadline, f"run {run_id} still {status} after {RUN_TIMEOUT_S}s"
        if status == "SUCCESS":  # the page should follow within seconds; a reload settles it
            with contextlib.suppress(Exception):
                expect(success).to_be_visible(timeout=15_000)
            if not success.is_visible():
                page.reload()
                expect(success).to_be_visible()
        else:
            page.wait_for_timeout(3_000)
    expect(page.get_by_text("Run of curate")).to_be_visible()
    shot(page, "run-success")


def check_asset_pages(page, base_url: str, root: Path, shot, expect) -> None:
    # row counts: the split's own `rows` metadata and Dagster's row count, equal to the Parquet file
    test_rows = pl.read_parquet(root / "data" / "curated" / "test.parquet").height
    page.goto(f"{base_url}/assets/test")
    expect(page.get_by_text("Row count", exact=True)).to_be_visible()
    assert as_int(metadata_value(page, "rows")) == test_rows
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, "asset-test-rows")

    # PII counts per type, as the DVC metric data/metrics/pii.json has them
    pii = json.loads((root / "data" / "metrics" / "pii.json").read_text())
    assert pii["by_type"].get("EMAIL_ADDRESS", 0) > 0, pii
    page.goto(f"{base_url}/assets/scrubbed_examples")
    assert as_int(metadata_value(page, "pii_replaced")) == pii["replaced"]
    for entity, count in pii["by_type"].items():
        assert as_int(metadata_value(page, f"pii/{entity}")) == count, entity
    metadata_value(page, "pii/EMAIL_ADDRESS")
    shot(page, "asset-scrubbed-examples-pii")

    # the data card, rendered from the asset's markdown metadata
    page.goto(f"{base_url}/assets/data_card")
    row = page.get_by_role("row").filter(has=page.get_by_role("cell", name="card", exact=True)).first
    row.get_by_text("[Show Markdown]").click()
    dialog = page.get_by_role("dialog")
    title = dialog.get_by_role("heading", name="ftdata curated fine-tuning dataset")
    expect(title).to_be_visible()
    expect(dialog.get_by_role("heading", name="Rows per source and split")).to_be_visible()
    expect(dialog.get_by_role("heading", name="PII replaced by typed placeholders")).to_be_visible()
    title.scroll_into_view_if_needed()
    shot(page, "asset-data-card")
    dialog.get_by_role("button", name="Close").click()

    # blocking checks passed
    for asset, check in CHECKS_PASSED.items():
        page.goto(f"{base_url}/assets/{asset}?view=checks&checkDetail={check}")  # where clicking the check leads
        entry = page.get_by_text(check, exact=True).first
        status = entry.locator("xpath=ancestor::*[contains(., 'Succeeded') or contains(., 'Failed')][1]")
        expect(status).to_contain_text("Succeeded")  # its entry in the list of checks
        expect(page.get_by_text("Latest execution")).to_be_visible()
        expect(page.get_by_text("Passed", exact=True)).to_be_visible()
        shot(page, f"check-{check}")


def check_through_graphql(base_url: str, run_id: str) -> None:
    run = graphql(
        base_url,
        "query($id: ID!) { runOrError(runId: $id) { ... on Run { status jobName runConfigYaml } } }",
        {"id": run_id},
    )["runOrError"]
    assert (run["status"], run["jobName"]) == ("SUCCESS", "curate"), run
    assert "in_process" in run["runConfigYaml"], run  # the config typed into the launchpad reached the run
    for asset in ("test", "scrubbed_examples", "data_card"):
        nodes = graphql(
            base_url,
            "query($key: [AssetKeyInput!]) { assetNodes(assetKeys: $key) {"
            " assetMaterializations(limit: 1) { runId } } }",
            {"key": [{"path": [asset]}]},
        )["assetNodes"]
        assert nodes[0]["assetMaterializations"][0]["runId"] == run_id, asset
    for asset, check in CHECKS_PASSED.items():
        executions = graphql(
            base_url,
            "query($key: AssetKeyInput!, $check: String!) { assetCheckExecutions(assetKey: $key,"
            " checkName: $check, limit: 1) { runId status evaluation { success } } }",
            {"key": {"path": [asset]}, "check": check},
        )["assetCheckExecutions"]
        assert executions[0]["runId"] == run_id, (asset, check)
        assert executions[0]["status"] == "SUCCEEDED" and executions[0]["evaluation"]["success"], executions
