"""``python -m encmed_lib.evaluation [--quick] [--out DIR]``: measure and write the report."""

import sys

from .report import main

if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
