"""``python -m metarl.cli`` is the ``metarl`` command."""

import sys

from metarl.cli._main import main

sys.exit(main())
