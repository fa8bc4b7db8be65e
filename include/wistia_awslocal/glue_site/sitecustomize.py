"""Imported at start-up by every Python process of a local Glue run (driver and workers).

On Glue the job's own code comes only from ``--extra-py-files``; this venv's editable install
also puts the repo's source dirs on ``sys.path``. Those dirs (``$WISTIA_AWSLOCAL_HIDDEN_PATHS``)
are removed here, so a module missing from the deployed zip fails the run as it would on AWS.
"""

import os
import sys

_hidden = {
    os.path.realpath(p)
    for p in os.environ.get("WISTIA_AWSLOCAL_HIDDEN_PATHS", "").split(os.pathsep)
    if p
}
if _hidden:
    sys.path[:] = [p for p in sys.path if not p or os.path.realpath(p) not in _hidden]
