"""A local Wistia API simulator: deterministic account data served over HTTP with Wistia's
shapes, auth, pagination, rate limits and injectable faults.

Run: ``python -m wistia_simulator --port 8787 --token T [--seed 1] [--start-date/--end-date]
[--media-count 40] [--events-per-day 2000] [--visitor-count 1500] [--rate-limit 600]
[--rate-limit-burst N] [--latency-ms 0] [--analytics-forbidden] [--late-event-share F]
[--fault-5xx-rate F] [--fault-429-storm-every N --fault-429-storm-length K]
[--fault-slow-rate F --fault-slow-ms MS] [--fault-truncate-rate F] [--fault-page-overlap K]
[--delete-media MEDIA_ID[@INSTANT] ...] [--warm] [--log-requests]``.

API under ``/modern`` and ``/v1`` (``.json`` suffix accepted on v1), bearer auth.
Admin (no auth, never faulted, not counted): ``GET /_admin/health``, ``GET /_admin/requests``,
``POST /_admin/reset-requests``, ``GET|POST /_admin/faults``, ``POST
/_admin/release-late-events``, ``POST /_admin/delete-media`` (``{"media_id", "at"}``: from
``at`` on, not listed and 404 on per-media endpoints, its events kept), ``GET /_admin/dataset?kind=events|medias|media_by_date|visitors
[&start_date&end_date][&media_id]``.

In-process truth: ``wistia_simulator.dataset.Dataset(DatasetConfig(...))`` gives the same data
for the same flags; ``wistia_simulator.cli.start_in_thread(argv)`` serves it from a thread.
"""
