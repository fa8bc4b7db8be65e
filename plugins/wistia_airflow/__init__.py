"""Airflow-side code of the Wistia pipeline: operators, the checks runner, callbacks, the plugin.

Shipped to MWAA in ``plugins.zip`` (its root is on ``sys.path``). Modules here import only
``airflow.sdk`` and ``wistia_pipeline.pipeline`` at top level; provider hooks, boto3, Spark and
DuckDB are imported inside ``execute()`` so the DAG file parses fast.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from wistia_airflow import compat, report_view
from wistia_airflow.timetables import RangeCatchupTimetable

# external_views on Airflow 3.1+, appbuilder_menu_items on 3.0.x (compat).
_REPORT_NAV = compat.report_view_nav_entries(
    report_view.VIEW_NAME, report_view.VIEW_HREF, report_view.URL_ROUTE
)


class WistiaPlugin(AirflowPlugin):
    """The project's Airflow plugin.

    The "Wistia report" view: the api-server serves the lake's daily reports at
    ``/wistia-report/`` (:mod:`wistia_airflow.report_view`), with a nav entry on it (under Browse
    from Airflow 3.1, the "Plugins" menu on 3.0.x).
    """

    name = "wistia"
    fastapi_apps = [report_view.FASTAPI_APP]
    external_views = _REPORT_NAV["external_views"]
    appbuilder_menu_items = _REPORT_NAV["appbuilder_menu_items"]
    # The DAG's schedule (range runs when behind): the scheduler deserializes a custom timetable
    # only when a plugin lists its class.
    timetables = [RangeCatchupTimetable]
