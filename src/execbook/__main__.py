"""``python -m execbook``: the execbook command."""

import sys

from execbook.cli.launch import main

sys.exit(main())
