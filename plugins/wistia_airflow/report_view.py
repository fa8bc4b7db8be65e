"""The "Wistia report" view: the daily report inside the Airflow UI, served by the api-server.

The project's plugin (:class:`wistia_airflow.WistiaPlugin`) mounts :data:`APP` at
:data:`URL_PREFIX` (Airflow 3 ``fastapi_apps``) and puts a nav entry on it
(:func:`wistia_airflow.compat.report_view_nav_entries`). Routes mirror the lake's layout under
``<lake>/reports/wistia/``, so the page's own links (``../dt=D/index.html``) work unchanged:

- ``GET /`` : a redirect to ``latest/index.html`` (Airflow 3.1+), or on 3.0.x a small page that
  loads it with the UI's token (below);
- ``GET /latest/index.html``: the newest day's report; ``GET /dt=YYYY-MM-DD/index.html``: a day's.

Only those report files are served: the day must be a real ``YYYY-MM-DD`` date, so no request
names any other object of the lake. Every report route needs an Airflow user allowed to read the
``wistia_daily`` DAG (the auth manager decides): the api-server does not authenticate plugin apps
itself. From Airflow 3.1 the UI keeps its JWT in the ``_token`` cookie, which the browser sends
with the view's iframe request; the 3.0.x UI keeps it in ``localStorage`` only, so there ``GET /``
is a page whose script fetches the report with the token as a bearer header.

Light at import (Airflow imports plugins in every component, the DAG file imports this package):
FastAPI (~0.5 s), Airflow's API security and the storage are imported when the first request
arrives, in the api-server only.
"""

from __future__ import annotations

import os
import re
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import date
from typing import Any

URL_PREFIX = "/wistia-report"
VIEW_NAME = "Wistia report"
URL_ROUTE = "wistia-report"  # the UI shows the view at /plugin/wistia-report (Airflow 3.1+)
# Relative to the UI's <base href> (also under a path prefix); "/" leads to the latest report.
VIEW_HREF = URL_PREFIX.lstrip("/") + "/"
DAG_ID = "wistia_daily"
LATEST = "latest"
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
HTML_TYPE = "text/html; charset=utf-8"

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
AsgiApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# The 3.0.x fallback page: no data in it; its script asks for the report with the token the 3.0
# UI stored under localStorage "token" (the same origin), and shows the answer in place.
BEARER_LOADER_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Wistia report</title></head>
<body><p id="status">Loading the Wistia report&hellip;</p>
<script>
const day = new URLSearchParams(location.search).get("day");
const path = /^\\d{4}-\\d{2}-\\d{2}$/.test(day || "") ? "dt=" + day : "latest";
const token = localStorage.getItem("token");
fetch(path + "/index.html", {headers: token ? {Authorization: "Bearer " + token} : {}})
  .then((r) => r.ok ? r.text() : Promise.reject(r.status))
  .then((html) => { document.open(); document.write(html); document.close(); })
  .catch((status) => { document.getElementById("status").textContent = status === 404
    ? "No report yet: wistia_daily writes one after its first published day."
    : "Open the Airflow UI and sign in first, then use this link again (" + status + ")."; });
</script></body></html>
"""


def lake_uri_from_env() -> str:
    """The lake root the report task writes to, from the environment.

    The api-server is no task: Airflow Variables are not read here (the task SDK's Variable needs
    a task's supervisor). Both targets set ``WISTIA_LAKE_URI`` (MWAA's startup.sh, ``make
    airflow``) or leave it to the local default ``<state dir>/lake``, as the report task does.
    """
    from wistia_pipeline.config import load_settings

    return load_settings(dict(os.environ)).lake_uri


def report_part(folder: str) -> str | None:
    """The report a URL folder names: ``"latest"``, or the day of ``dt=YYYY-MM-DD`` (a real
    date); None for anything else, which is never served."""
    if folder == LATEST:
        return LATEST
    day = folder.removeprefix("dt=")
    if day == folder or not _DAY.fullmatch(day):
        return None
    try:
        return date.fromisoformat(day).isoformat()
    except ValueError:
        return None


def read_report(lake_uri: str, part: str) -> bytes | None:
    """The stored page of ``part`` (``"latest"`` or a day), None when there is none."""
    from wistia_pipeline.report.writer import report_uri
    from wistia_pipeline.storage import open_storage

    uri = report_uri(lake_uri, part)
    storage = open_storage(lake_uri)
    if not storage.exists(uri):
        return None
    return storage.read_bytes(uri)


def airflow_authorization() -> Callable[..., Any]:
    """A FastAPI dependency: the request's Airflow user (cookie or bearer token, as the api-server
    accepts them) must be allowed to read the ``wistia_daily`` DAG; 401/403 otherwise."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import DagDetails
    from airflow.api_fastapi.core_api.security import get_user
    from fastapi import Depends, HTTPException, status

    # A default, not an Annotated hint: with postponed annotations FastAPI resolves hints in the
    # module's globals, where these lazily imported names are not.
    current_user = Depends(get_user)

    def authorize(user: Any = current_user) -> None:
        allowed = get_auth_manager().is_authorized_dag(
            method="GET", user=user, details=DagDetails(id=DAG_ID)
        )
        if not allowed:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"not allowed to read {DAG_ID}")

    return authorize


# The pages have inline CSS and SVG and never a script: forbid scripts and fetches outright, and
# let only the Airflow UI (same origin) frame them.
REPORT_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",  # latest/ moves every day
}


def build_app(
    lake_uri: Callable[[], str] = lake_uri_from_env,
    authorization: Callable[..., Any] | None = None,
    token_loader: bool | None = None,
) -> Any:
    """The FastAPI app of the view (see the module doc for its routes).

    ``authorization``: the dependency every report route needs (default
    :func:`airflow_authorization`); ``token_loader``: serve the 3.0.x page at ``/`` (default: when
    the Airflow UI keeps its token out of cookies, :func:`compat.ui_token_in_local_storage`).
    """
    from fastapi import Depends, FastAPI, HTTPException, status
    from fastapi.responses import HTMLResponse, RedirectResponse, Response

    from wistia_airflow import compat

    authorize = authorization if authorization is not None else airflow_authorization()
    loader = compat.ui_token_in_local_storage() if token_loader is None else token_loader
    app = FastAPI(title=VIEW_NAME, docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/", include_in_schema=False)
    def index() -> Response:
        if loader:
            return HTMLResponse(BEARER_LOADER_PAGE, headers={"Cache-Control": "no-cache"})
        # Relative: the browser resolves it under wherever the api-server mounted the app.
        return RedirectResponse("latest/index.html", status_code=status.HTTP_307_TEMPORARY_REDIRECT)

    @app.get("/{folder}/index.html", dependencies=[Depends(authorize)])
    def page(folder: str) -> Response:
        part = report_part(folder)
        if part is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "no such report")
        body = read_report(lake_uri(), part)
        if body is None:
            what = "no report yet" if part == LATEST else f"no report of {part}"
            raise HTTPException(status.HTTP_404_NOT_FOUND, what)
        return Response(body, media_type=HTML_TYPE, headers=REPORT_HEADERS)

    return app


class LazyApp:
    """An ASGI app that builds the real one on its first request.

    Airflow imports plugins in every component (scheduler, dag-processor, workers) and the DAG
    file imports this package: building the FastAPI app at import would cost each of them ~0.5 s
    for a view only the api-server serves.
    """

    def __init__(self, factory: Callable[[], AsgiApp]) -> None:
        self._factory = factory
        self._app: AsgiApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._app is None:
            self._app = self._factory()
        await self._app(scope, receive, send)


APP = LazyApp(build_app)
FASTAPI_APP = {"app": APP, "url_prefix": URL_PREFIX, "name": VIEW_NAME}
