"""``python -m fastlogit``: see fastlogit.cli."""

import sys

from fastlogit.cli import main

if __name__ == "__main__":
    sys.exit(main())
