"""``python -m wistia_awslocal -H 127.0.0.1 -p 4566``: the local AWS in the foreground."""

import sys

from wistia_awslocal.server import main

sys.exit(main())
