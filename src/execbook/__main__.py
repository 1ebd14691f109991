"""``python -m execbook``: the execbook command."""

import sys

from execbook.uptodate import main

sys.exit(main())
