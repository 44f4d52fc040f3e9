"""``python -m alphapt_tui`` is the same as ``alphapt-tui``."""

import sys

from alphapt_tui.cli import main

sys.exit(main())
