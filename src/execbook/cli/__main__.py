"""``python -m execbook.cli``: the commands, without the unchanged-book shortcut of ``execbook``."""

import sys

from execbook.cli.main import main

sys.exit(main())
