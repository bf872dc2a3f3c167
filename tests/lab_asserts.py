"""The two assertions every checker test uses: a checker accepts the right answer, rejects a wrong one.

Imported by ``tests/test_labs*.py`` (pytest puts this folder on ``sys.path``).
"""

from __future__ import annotations

import re

import pytest

from encmed_lib.labs import LabCheckError


def rejects(check, *args, hint: str, **kwargs) -> LabCheckError:
    """``check(*args)`` raises a LabCheckError whose message has all four parts and ``hint``."""
    with pytest.raises(LabCheckError) as info:
        check(*args, **kwargs)
    message = str(info.value)
    for part in ("expected:", "received:", "hint:", "see:"):
        assert part in message, message
    assert re.search(r"\d\d_\w+\.ipynb, section", message), message
    assert hint.lower() in message.lower(), f"{hint!r} not in:\n{message}"
    return info.value


def accepts(check, *args, **kwargs) -> str:
    """``check(*args)`` returns its "✓ correct" message, the same on a second call (nbval compares it)."""
    message = check(*args, **kwargs)
    assert isinstance(message, str) and message.startswith("✓ correct: "), message
    assert check(*args, **kwargs) == message  # stable: the notebooks' outputs are compared
    return message
