"""``python -m encmed_lib.labs students``: write the student notebooks (see :mod:`.students`)."""

from .students import main

if __name__ == "__main__":  # pragma: no cover
    main()
