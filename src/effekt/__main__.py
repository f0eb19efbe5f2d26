"""``python -m effekt``: the command line (see :mod:`effekt.cli`)."""

from effekt.cli import main

raise SystemExit(main())
