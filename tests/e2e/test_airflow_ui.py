"""`make airflow` in a real browser (Debian's Chromium, Playwright): log in with the printed
credentials, wistia_daily is listed without import errors, the catchup run starts at the
configured start date (no stray run of an older default), a run made by ``dag.test()`` (what
``make demo`` / ``make backfill`` do) shows its real Duration, and a run triggered from the
Trigger form with ``lookback_days`` and ``streams`` succeeds, with a task log readable in the UI,
and the plugin's "Wistia report" view shows the lake's latest report inside the UI.

One stack for the module (~2 min to start on 2 cores), a tiny simulated account and lookback 0 so
each pipeline run takes about a minute. Screenshots go to the module's tmp dir.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from wistia_dev import local_runner
from wistia_simulator.process import free_port, start_simulator, stop_process

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
SIM_TOKEN = "ui-test-sim-token"  # the simulator's own credential for this test, not a secret
STREAMS = ["medias", "media_by_date", "events"]
# A run created the way make demo / make backfill create theirs: local_runner.run_day (dag.test()),
# its tasks marked successful instead of run (the start date of the run is what is checked).
DAG_TEST_RUN = """
import os, sys
from datetime import date
from pathlib import Path
from wistia_dev import local_runner
home = Path(sys.argv[1])
os.environ.update(local_runner.airflow_env(home))
local_runner.ensure_metadata_db(home)
result = local_runner.run_day(
    local_runner.load_dag(), date.fromisoformat(sys.argv[2]), mark_success_pattern=".*"
)
print("RUN", result.run_id, result.state, result.duration_s)
"""


@dataclass
class Stack:
    base: str
    user: str
    password: str
    state_dir: Path
    start_date: date
    dag_test_run_id: str
    artifacts: Path


def _wait_for_login(log: Path, proc: subprocess.Popen, timeout: float) -> re.Match[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace")
        login = re.search(r"^Login:\s+(\S+) / (\S+)$", text, re.MULTILINE)
        if login and "AIRFLOW_HOME:" in text:
            return login
        if proc.poll() is not None:
            break
        time.sleep(2)
    raise AssertionError("make airflow printed no login:\n" + log.read_text()[-4000:])


def _stop(proc: subprocess.Popen) -> None:
    """Ctrl-C as a person would (airflow_local stops standalone's process group), then force."""
    for sig, wait in ((signal.SIGINT, 90), (signal.SIGTERM, 30), (signal.SIGKILL, 30)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    from browser_support import chromium_path

    chromium_path()  # skip (fail in CI) before spending two minutes on a stack
    root = tmp_path_factory.mktemp("airflow_ui")
    state_dir = root / "state"
    home = state_dir / "airflow"
    today = datetime.now(UTC).date()
    start = today - timedelta(days=1)  # exactly one catchup run: data day yesterday
    sim_port = free_port()
    sim = start_simulator(
        sim_port,
        SIM_TOKEN,
        *("--seed", "3", "--media-count", "4", "--events-per-day", "40"),
        *("--visitor-count", "30", "--rate-limit", "0"),
        *(
            "--start-date",
            (today - timedelta(days=10)).isoformat(),
            "--end-date",
            today.isoformat(),
        ),
        log_path=root / "simulator.log",
    )
    port = free_port()
    env = {
        **os.environ,
        "AIRFLOW_PORT": str(port),
        "WISTIA_STATE_DIR": str(state_dir),
        "WISTIA_START_DATE": start.isoformat(),
        "WISTIA_LOOKBACK_DAYS": "0",
        "WISTIA_RATE_LIMIT_PER_MINUTE": "6000",
        "WISTIA_API_URL": f"http://127.0.0.1:{sim_port}/modern",
        "WISTIA_API_TOKEN": SIM_TOKEN,
    }
    env.pop("AIRFLOW_HOME", None)
    proc = None
    try:
        old_day = today - timedelta(days=6)
        made = subprocess.run(
            [sys.executable, "-c", DAG_TEST_RUN, str(home), old_day.isoformat()],
            env=local_runner.airflow_env(home, env),
            capture_output=True,
            text=True,
            timeout=300,
        )
        run = re.search(r"^RUN (\S+) success", made.stdout, re.MULTILINE)
        assert run, made.stdout[-2000:] + made.stderr[-3000:]
        log = root / "make-airflow.log"
        with log.open("w") as out:
            proc = subprocess.Popen(
                [sys.executable, str(REPO / "scripts" / "airflow_local.py")],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                # Ctrl-C must reach it even when the test runner was started with SIGINT ignored.
                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
            )
        login = _wait_for_login(log, proc, timeout=420)
        assert f"Airflow UI:   http://localhost:{port}" in log.read_text()
        yield Stack(
            base=f"http://127.0.0.1:{port}",
            user=login.group(1),
            password=login.group(2),
            state_dir=state_dir,
            start_date=start,
            dag_test_run_id=run.group(1),
            artifacts=root,
        )
    finally:
        if proc is not None:
            _stop(proc)
        stop_process(sim)


@dataclass
class Ui:
    page: Any
    seen: Any  # browser_support.Watch
    base: str

    def api(self, path: str) -> Any:
        """The REST API with the browser's own session (what the UI itself calls)."""
        response = self.page.request.get(self.base + path)
        assert response.ok, (path, response.status, response.text()[:500])
        return response.json()

    def runs(self) -> list[dict]:
        path = "/api/v2/dags/wistia_daily/dagRuns?limit=100&order_by=run_after"
        return self.api(path)["dag_runs"]


@pytest.fixture(scope="module")
def ui(stack: Stack) -> Iterator[Ui]:
    """A browser page logged in through the login form with the printed credentials."""
    from browser_support import launch_chromium, watch

    with launch_chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        seen = watch(page)
        page.goto(stack.base + "/")
        page.wait_for_url(re.compile(r"/auth/login"), timeout=60_000)
        page.fill("input[name=username]", stack.user)
        page.fill("input[name=password]", stack.password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(lambda url: "/auth/login" not in url, timeout=60_000)
        yield Ui(page, seen, stack.base)
        page.close()


def parse_duration(text: str) -> timedelta:
    """The runs table's Duration cell: ``HH:MM:SS(.fff)``, with ``Nd`` in front past a day."""
    match = re.fullmatch(r"(?:(\d+)d)?(\d+):(\d\d):(\d\d(?:\.\d+)?)", text.strip())
    assert match, f"unexpected Duration text {text!r}"
    days, hours, minutes, seconds = match.groups()
    return timedelta(
        days=int(days or 0), hours=int(hours), minutes=int(minutes), seconds=float(seconds)
    )


def runs_table(ui: Ui) -> dict[str, dict[str, str]]:
    """The Runs tab of wistia_daily as {run id: {column: text}}."""
    page = ui.page
    page.goto(f"{ui.base}/dags/wistia_daily/runs")
    page.locator("table tbody tr").first.wait_for(timeout=60_000)
    headers = [h.inner_text().strip() for h in page.locator("table thead th").all()]
    table = {}
    for row in page.locator("table tbody tr").all():
        cells = [c.inner_text().strip() for c in row.locator("td").all()]
        record = dict(zip(headers, cells, strict=False))
        table[record["Dag Run ID"]] = record
    return table


def test_dag_listed_without_import_errors(stack: Stack, ui: Ui) -> None:
    ui.page.goto(stack.base + "/dags")
    link = ui.page.get_by_role("link", name="wistia_daily", exact=True)
    link.first.wait_for(timeout=120_000)
    ui.page.screenshot(path=str(stack.artifacts / "ui-dags.png"))
    errors = ui.api("/api/v2/importErrors")
    assert errors["total_entries"] == 0, errors
    dag = ui.api("/api/v2/dags/wistia_daily")
    assert dag["is_paused"] is False and not dag.get("has_import_errors")
    assert ui.seen.page_errors == []


def test_catchup_starts_at_the_configured_start_date(stack: Stack, ui: Ui) -> None:
    deadline = time.monotonic() + 180
    while not [r for r in ui.runs() if r["run_type"] == "scheduled"]:
        assert time.monotonic() < deadline, "the scheduler created no catchup run"
        time.sleep(3)
    scheduled = [r for r in ui.runs() if r["run_type"] == "scheduled"]
    days = sorted(r["data_interval_start"][:10] for r in scheduled)
    # One run per day from WISTIA_START_DATE (yesterday) on; none for an older default date.
    assert days == [stack.start_date.isoformat()]
    older = [r for r in ui.runs() if r["data_interval_start"][:10] < stack.start_date.isoformat()]
    assert [r["dag_run_id"] for r in older] == [stack.dag_test_run_id]  # the dag.test() run
    assert not [r for r in ui.runs() if r["data_interval_start"].startswith("2026-01-01")]
    table = runs_table(ui)
    assert any(run_id.startswith("scheduled__") for run_id in table)


def test_a_dag_test_run_shows_its_real_duration(stack: Stack, ui: Ui) -> None:
    """make demo / make backfill runs (dag.test() with a logical date days back) used to show
    the days since their logical date as Duration (``2d05:03:16`` for a one-minute run)."""
    table = runs_table(ui)
    ui.page.screenshot(path=str(stack.artifacts / "ui-runs.png"))
    row = table[stack.dag_test_run_id]
    assert row["State"] == "Success"
    assert parse_duration(row["Duration"]) < timedelta(minutes=1), row
    record = next(r for r in ui.runs() if r["dag_run_id"] == stack.dag_test_run_id)
    started = datetime.fromisoformat(record["start_date"].replace("Z", "+00:00"))
    assert started.date() == datetime.now(UTC).date()  # started today, not at its logical date
    for run_id, cells in table.items():
        if cells.get("Duration"):
            assert parse_duration(cells["Duration"]) < timedelta(minutes=30), (run_id, cells)


def test_trigger_form_run_succeeds_with_a_readable_log(stack: Stack, ui: Ui) -> None:
    ui.page.goto(stack.base + "/dags/wistia_daily")
    ui.page.get_by_role("button", name="Trigger Dag").click()
    dialog = ui.page.get_by_role("dialog")
    dialog.locator("input[name=element_lookback_days]").fill("0")
    dialog.locator("#element_streams").fill("\n".join(STREAMS))
    ui.page.screenshot(path=str(stack.artifacts / "ui-trigger-form.png"))
    with ui.page.expect_response(
        lambda r: r.url.endswith("/dagRuns") and r.request.method == "POST"
    ) as posted:
        dialog.get_by_role("button", name="Trigger").click()
    created = posted.value.json()
    conf = created["conf"]
    assert (conf["lookback_days"], conf["streams"]) == (0, STREAMS)
    # The form sends the DAG's other params too, left at their defaults.
    defaults = {"accept_failed_checks": [], "override_reason": None, "publish_only": False}
    assert {k: v for k, v in conf.items() if k not in ("lookback_days", "streams")} == {
        k: defaults[k] for k in conf if k in defaults
    }, conf
    run_id = created["dag_run_id"]
    day = created["data_interval_start"][:10]

    deadline = time.monotonic() + 480  # behind the catchup run (max_active_runs=1)
    state = None
    while time.monotonic() < deadline:
        state = next(r for r in ui.runs() if r["dag_run_id"] == run_id)["state"]
        if state in ("success", "failed"):
            break
        time.sleep(5)
    tasks = ui.api(f"/api/v2/dags/wistia_daily/dagRuns/{run_id}/taskInstances")
    assert state == "success", [(t["task_id"], t["state"]) for t in tasks["task_instances"]]
    assert {t["task_id"]: t["state"] for t in tasks["task_instances"]}["report"] == "success"
    # Every task of both runs ran once: none failed to reach the api-server while the stack
    # was starting (make airflow's execution API timeout and retries).
    for run in ui.runs():
        if run["dag_run_id"] != stack.dag_test_run_id:
            path = f"/api/v2/dags/wistia_daily/dagRuns/{run['dag_run_id']}/taskInstances"
            tries = {t["task_id"]: t["try_number"] for t in ui.api(path)["task_instances"]}
            assert set(tries.values()) == {1}, (run["dag_run_id"], tries)

    # The report task's log, read in the UI.
    ui.page.goto(f"{stack.base}/dags/wistia_daily/runs/{run_id}/tasks/report")
    line = ui.page.get_by_text(re.compile(rf"report of {day} \(published\)"))
    line.first.wait_for(timeout=60_000)
    ui.page.screenshot(path=str(stack.artifacts / "ui-task-log.png"))
    # ... and the report it wrote, in the same browser.
    report = stack.state_dir / "lake" / "reports" / "wistia" / f"dt={day}" / "index.html"
    ui.page.goto(report.as_uri())
    assert ui.page.locator("#status-badge").inner_text() == "Published"
    assert run_id in ui.page.locator("#ds-status").inner_text()
    assert ui.seen.page_errors == []


def chart_marks_drawn(frame: Any) -> dict[str, int]:
    """{chart: marks with a non-empty box} for every chart of a report page (in ``frame``)."""
    charts = frame.locator("figure.chart")
    drawn = {}
    for i in range(charts.count()):
        marks = charts.nth(i).locator("svg:visible g.role-mark > *")
        drawn[charts.nth(i).get_attribute("data-chart")] = marks.evaluate_all(
            "els => els.filter(e => { const b = e.getBBox(); return b.width > 0 || b.height > 0; })"
            ".length"
        )
    return drawn


def test_wistia_report_view_shows_the_latest_report(stack: Stack, ui: Ui) -> None:
    """The plugin's "Wistia report" view (Airflow 3.1+ external view): Browse -> Wistia report
    shows the lake's latest report inside the UI, served by the api-server behind its login."""
    reports = stack.state_dir / "lake" / "reports" / "wistia"
    deadline = time.monotonic() + 480  # the module's runs write it (their report task)
    while not (reports / "latest" / "index.html").is_file():
        assert time.monotonic() < deadline, "no run wrote a report to the lake"
        time.sleep(5)
    page = ui.page
    page.goto(stack.base + "/dags")
    page.get_by_role("button", name="Browse").click()
    page.get_by_role("menuitem", name="Wistia report").click()
    page.wait_for_url(re.compile(r"/plugin/wistia-report$"), timeout=60_000)
    frame = page.frame_locator('iframe[title="Wistia report"]')
    frame.locator("#status-badge").wait_for(timeout=60_000)
    assert frame.locator("#status-badge").inner_text() == "Published"
    drawn = chart_marks_drawn(frame)
    assert drawn and all(drawn.values()), drawn
    shown = next(f for f in page.frames if "/wistia-report/latest/index.html" in f.url)
    latest_html = (reports / "latest" / "index.html").read_text(encoding="utf-8")
    assert f"<title>{shown.title()}</title>" in latest_html  # the lake's latest page
    page.screenshot(path=str(stack.artifacts / "ui-wistia-report.png"), full_page=True)
    # The report's own CSS and SVG pass the view's Content-Security-Policy.
    assert not [e for e in ui.seen.console_errors if "Content Security Policy" in e]
    assert ui.seen.page_errors == []

    # A day's page with the UI's session; nothing but report pages; nothing without a login.
    day = sorted(p.name for p in reports.glob("dt=*"))[-1]
    day_page = page.request.get(f"{stack.base}/wistia-report/{day}/index.html")
    assert day_page.ok and day_page.text() == (reports / day / "index.html").read_text()
    assert page.request.get(f"{stack.base}/wistia-report/dt=1999-01-01/index.html").status == 404
    outside = page.request.get(f"{stack.base}/wistia-report/..%2F..%2Fpublished/index.html")
    assert outside.status == 404
    stranger = page.context.browser.new_context()
    try:
        anonymous = stranger.request.get(f"{stack.base}/wistia-report/latest/index.html")
        assert anonymous.status == 401, anonymous.text()[:300]
    finally:
        stranger.close()
