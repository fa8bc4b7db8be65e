"""The "Wistia report" view (wistia_airflow.report_view): its FastAPI app over a lake's reports,
its Airflow authorization, and the plugin that mounts it. The view in the real UI, behind the
real login, is tested in tests/e2e/test_airflow_ui.py."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import HTTPException, Request
from fastapi.testclient import TestClient

from wistia_airflow import WistiaPlugin, compat, report_view

DAY = "2026-03-04"
LATEST_HTML = "<!doctype html><title>latest</title><p>Report of 2026-03-05 ✓</p>"
DAY_HTML = f"<!doctype html><title>{DAY}</title><p>Report of {DAY}</p>"


def allow_header(request: Request) -> None:
    """Stands for the Airflow user check: a request is authorized when it says so."""
    if request.headers.get("x-test-user") != "allowed":
        raise HTTPException(401, "not authenticated")


@pytest.fixture
def lake(tmp_path: Path) -> Path:
    root = tmp_path / "lake"
    for folder, html in (("latest", LATEST_HTML), (f"dt={DAY}", DAY_HTML)):
        page = root / "reports" / "wistia" / folder / "index.html"
        page.parent.mkdir(parents=True)
        page.write_text(html, encoding="utf-8")
    (root / "published").mkdir()
    (root / "published" / "secret.txt").write_text("not a report")
    return root


def client_for(lake: Path, authorization: Callable[..., Any] = allow_header, **kw: Any) -> Any:
    app = report_view.build_app(lambda: str(lake), authorization=authorization, **kw)
    return TestClient(app, headers={"x-test-user": "allowed"})


def test_latest_report_is_served_with_a_strict_policy(lake: Path) -> None:
    response = client_for(lake).get("/latest/index.html")
    assert response.status_code == 200
    assert response.text == LATEST_HTML
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "frame-ancestors 'self'" in policy


def test_index_leads_to_the_latest_report(lake: Path) -> None:
    client = client_for(lake, token_loader=False)
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 307
    assert response.headers["location"] == "latest/index.html"  # relative to the mount
    assert client.get("/").text == LATEST_HTML


def test_a_day_is_served_and_a_missing_day_is_404(lake: Path) -> None:
    client = client_for(lake)
    assert client.get(f"/dt={DAY}/index.html").text == DAY_HTML
    missing = client.get("/dt=2026-03-01/index.html")
    assert missing.status_code == 404
    assert "no report of 2026-03-01" in missing.text


def test_no_report_yet_is_404(tmp_path: Path) -> None:
    response = client_for(tmp_path / "empty-lake").get("/latest/index.html")
    assert response.status_code == 404
    assert "no report yet" in response.text


@pytest.mark.parametrize(
    "path",
    [
        "/dt=2026-02-30/index.html",  # not a date
        "/dt=2026-3-4/index.html",
        "/2026-03-04/index.html",  # not the lake's folder name
        "/dt=latest/index.html",
        "/dt=../published/secret.txt",
        "/dt=..%2F..%2Fpublished%2Fsecret.txt/index.html",
        "/../published/secret.txt",
        "/latest/summary.json",
        "/latest/../../published/secret.txt",
        "/%2e%2e/published/secret.txt",
    ],
)
def test_only_report_pages_are_served(lake: Path, path: str) -> None:
    response = client_for(lake).get(path)
    assert response.status_code == 404, (path, response.text[:200])
    assert "not a report" not in response.text


@pytest.mark.parametrize("path", ["/latest/index.html", f"/dt={DAY}/index.html"])
def test_every_report_route_needs_authorization(lake: Path, path: str) -> None:
    client = client_for(lake)
    assert client.get(path, headers={"x-test-user": "someone"}).status_code == 401
    # ... checked before the lake is read: a missing day does not reveal itself either.
    assert client.get("/dt=2026-01-01/index.html", headers={"x-test-user": ""}).status_code == 401


@pytest.fixture
def simple_auth_manager() -> Iterator[Any]:
    from airflow.api_fastapi.app import create_auth_manager

    # Airflow's default (simple) auth manager, as the api-server creates it; no metadata DB.
    yield create_auth_manager()


def test_airflow_authorization_needs_a_valid_token(lake: Path, simple_auth_manager: Any) -> None:
    client = TestClient(report_view.build_app(lambda: str(lake)))
    assert client.get("/latest/index.html").status_code == 401
    bad = client.get("/latest/index.html", headers={"Authorization": "Bearer not-a-jwt"})
    assert bad.status_code == 403
    assert client.get("/latest/index.html", cookies={"_token": "not-a-jwt"}).status_code in (
        401,  # Airflow 3.0.x reads no cookie
        403,
    )


@pytest.mark.parametrize(("role", "status"), [("viewer", 200), (None, 403)])
def test_airflow_authorization_asks_the_auth_manager(
    lake: Path, simple_auth_manager: Any, role: str | None, status: int
) -> None:
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from airflow.api_fastapi.core_api.security import get_user

    app = report_view.build_app(lambda: str(lake))
    # The token check itself needs the metadata DB (revoked tokens): here the user is given.
    app.dependency_overrides[get_user] = lambda: SimpleAuthManagerUser(username="ada", role=role)
    assert TestClient(app).get("/latest/index.html").status_code == status


def test_the_30_fallback_page_loads_the_report_with_the_ui_token(lake: Path) -> None:
    client = client_for(lake, token_loader=True)
    page = client.get("/", headers={"x-test-user": ""})  # no data in it: no authorization
    assert page.status_code == 200
    assert 'localStorage.getItem("token")' in page.text
    assert '"Bearer " + token' in page.text and 'path + "/index.html"' in page.text
    assert LATEST_HTML not in page.text


def test_lake_uri_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WISTIA_LAKE_URI", "s3://a-lake-bucket")
    assert report_view.lake_uri_from_env() == "s3://a-lake-bucket"


def test_the_plugin_mounts_the_view_and_links_it_in_the_nav() -> None:
    assert WistiaPlugin.fastapi_apps == [
        {"app": report_view.APP, "url_prefix": "/wistia-report", "name": "Wistia report"}
    ]
    if compat.ui_token_in_local_storage():  # Airflow 3.0.x: a "Plugins" menu link
        assert WistiaPlugin.appbuilder_menu_items == [
            {"name": "Wistia report", "href": "wistia-report/"}
        ]
        assert not getattr(WistiaPlugin, "external_views", [])
    else:
        (view,) = WistiaPlugin.external_views
        assert view["name"] == "Wistia report" and view["href"] == "wistia-report/"
        assert view["url_route"] == "wistia-report" and view["destination"] == "nav"
        assert WistiaPlugin.appbuilder_menu_items == []


def test_the_lazy_app_serves_through_an_asgi_mount(lake: Path) -> None:
    from starlette.applications import Starlette
    from starlette.routing import Mount

    built: list[int] = []

    def factory() -> Any:
        built.append(1)
        return report_view.build_app(
            lambda: str(lake), authorization=allow_header, token_loader=False
        )

    lazy = report_view.LazyApp(factory)
    assert built == []  # nothing built (nor FastAPI needed) until a request arrives
    outer = Starlette(routes=[Mount("/wistia-report", app=lazy)])
    client = TestClient(outer, headers={"x-test-user": "allowed"})
    assert client.get("/wistia-report/").text == LATEST_HTML  # via the relative redirect
    assert client.get(f"/wistia-report/dt={DAY}/index.html").text == DAY_HTML
    assert built == [1]


def test_importing_the_plugin_imports_no_fastapi() -> None:
    """Airflow imports plugins in every component, and the DAG file imports this package: it adds
    nothing heavy to what Airflow itself has loaded (Airflow 3.0.x's airflow.sdk loads FastAPI)."""
    code = (
        "import sys, airflow.sdk, airflow.plugins_manager;"
        "heavy = ('fastapi', 'starlette', 'wistia_pipeline.storage', 'boto3');"
        "before = {m for m in heavy if m in sys.modules};"
        "import wistia_airflow;"
        "print(sorted(m for m in heavy if m in sys.modules and m not in before))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stderr[-2000:]
