"""``python -m mtspark_bio COMMAND ...``: the ``mtspark-bio`` command without its console script."""

import sys

from mtspark_bio.front.cli import main

sys.exit(main())
