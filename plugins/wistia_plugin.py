"""Registers the Wistia pipeline's Airflow plugin (the range timetable, the report view).

Airflow's plugin loader imports every ``.py`` file of the plugins folder and registers the
``AirflowPlugin`` classes it finds. The project's packages stay out of that scan
(``.airflowignore``: they are imported from ``sys.path``), so this one module names the class.
It sits at the root of MWAA's ``plugins.zip``, of ``plugins/`` mounted by docker-compose, and of
the local runs' plugins folder (``wistia_dev.local_runner.airflow_env``).
"""

from wistia_airflow import WistiaPlugin  # noqa: F401
