"""``python -m devkit``: the demo and the simulators (see :mod:`devkit.cli`)."""

import sys

from devkit.cli import main

sys.exit(main())
