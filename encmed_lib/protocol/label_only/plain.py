r"""Label-only mode computed in the clear: the same integers, no encryption (for teaching and tests).

:func:`comparison_values` is the DGK comparison of :mod:`.server` on plaintexts, and
:func:`plain_label` the whole evaluation (grid codes, shared comparison bits, path costs), so a
notebook can print every :math:`c_i` and a test can check the arithmetic on every row of a
dataset in milliseconds, while the encrypted protocol is checked on a sample.
"""

from __future__ import annotations

from collections.abc import Mapping


def comparison_values(x: int, y: int, s: int, width: int) -> list[int]:
    r""":math:`c_i = s + x_i - y_i + 3\sum_{k>i}(x_k \oplus y_k)` for :math:`i = L-1, \dots, 0`.

    Some :math:`c_i` is 0 exactly when :math:`x > y` (``s = -1``) or :math:`x < y` (``s = +1``).

    Examples
    --------
    >>> comparison_values(5, 3, -1, 3)   # 101 > 011: the top bit differs, x_2 - y_2 = 1
    [0, 1, 5]
    >>> comparison_values(3, 5, -1, 3)   # no zero: 3 > 5 is false
    [-2, 3, 5]
    """
    if s not in (-1, 1):
        raise ValueError(f"s must be -1 or +1, got {s!r}")
    out, acc = [], 0
    for i in reversed(range(width)):
        x_i, y_i = (x >> i) & 1, (y >> i) & 1
        out.append(s + x_i - y_i + 3 * acc)
        acc += x_i ^ y_i
    return out


def share_bit(x: int, code: int, s: int, width: int) -> int:
    r"""The client's share :math:`\delta`: ``x`` against :math:`y = T` (``s=-1``), :math:`T+1` (``s=+1``)."""
    y = code + (1 if s > 0 else 0)
    return int(any(c == 0 for c in comparison_values(x, y, s, width)))


def went_left(x: int, code: int, s: int, width: int) -> int:
    r""":math:`b = [x \le T]` from the share: :math:`\delta` for ``s=+1``, :math:`1-\delta` for ``s=-1``."""
    delta = share_bit(x, code, s, width)
    return delta if s > 0 else 1 - delta


def path_costs(layout, bits: list[int]) -> list[int]:
    """Each leaf's number of wrong turns given the comparison bits :math:`b_j` (zero for one leaf)."""
    return [sum((1 - bits[j]) if left else bits[j] for j, left in path) for path in layout.paths]


def plain_label(server, record: Mapping, *, s: int = -1):
    """The label label-only mode returns for ``record``, computed on plaintext integers.

    ``server`` is a :class:`~.server.LabelOnlyServer` (its layout, schema and width); ``s`` the sign
    used at every node (the result does not depend on it).
    """
    codes = server.schema.encode_record(record)
    layout = server.layout
    bits = [went_left(codes[f], t, s, server.width) for f, t in zip(layout.features, layout.codes,
                                                                    strict=True)]
    costs = path_costs(layout, bits)
    (leaf,) = [k for k, c in enumerate(costs) if c == 0]
    label = server.classes[layout.leaf_class[leaf]]
    return int(label) if isinstance(label, float) and label.is_integer() else label
