"""`python -m toolkit ...` is `toolkit ...`."""

import sys

from .cli import main

sys.exit(main())
