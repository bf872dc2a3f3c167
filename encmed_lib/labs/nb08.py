"""Exercises of notebook 08 (collaborative training): their checkers.

Each ``check_08_*`` function is called by a checking cell of the notebook's
Exercises section; see :mod:`encmed_lib.labs` for the three-cell format.
"""

from __future__ import annotations

import numbers

import numpy as np

from .core import (
    Exercise,
    as_number,
    describe,
    ok,
)

_S08 = "08_collaborative_training.ipynb"


def _flat_ints(value, ex: Exercise, expected: str, what: str) -> list[int]:
    """A flat list of Python ints (shares are too large for int64)."""
    if value is None or isinstance(value, (str, numbers.Number)) or not hasattr(value, "__len__"):
        raise ex.fail(expected, value, f"{what} must be a list of numbers")
    flat = np.asarray(value, dtype=object).ravel().tolist()
    out = []
    for v in flat:
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (numbers.Integral, np.integer)):
            if isinstance(v, (numbers.Real, np.floating)) and float(v).is_integer() and abs(v) < 2 ** 53:
                out.append(int(v))
                continue
            raise ex.fail(expected, value, f"{what} must hold whole numbers (Python ints: values mod p are "
                          "too large for floats or int64)", shown=f"an element {describe(v)}")
        out.append(int(v))
    return out


def check_08_additive_shares(shares, reconstructed, table, k: int = 3, prime: int | None = None) -> str:
    """Exercise 08.1: ``k`` additive shares of ``table`` modulo ``prime``, and the table added back.

    ``shares`` is what ``SecretSharingAggregator.share(table, k)`` returns
    (``k`` flat lists of values in ``[0, p)``); ``reconstructed`` their
    elementwise sum modulo ``p``.  ``prime`` defaults to :math:`2^{127} - 1`.
    """
    from ..federated.aggregation import MERSENNE_127

    ex = Exercise("08.1 (additive shares)", f'{_S08}, section "3 · The protocol, round by round"')
    p = int(prime) if prime is not None else MERSENNE_127
    target = [int(v) for v in np.asarray(table).ravel()]
    size = len(target)
    expected = f"{k} shares, each a list of {size} numbers in [0, p), that add up to the table modulo p"
    if shares is None or isinstance(shares, (str, numbers.Number)) or not hasattr(shares, "__len__"):
        raise ex.fail(expected, shares, f"split the table with sharer.share(table, {k})")
    parts = list(shares)
    if len(parts) != k:
        raise ex.fail(expected, None, f"K = {k} providers means {k} shares: share(table, {k})",
                      shown=f"{len(parts)} shares")
    rows = [_flat_ints(s, ex, expected, "a share") for s in parts]
    if any(len(r) != size for r in rows):
        raise ex.fail(expected, None, f"each share has one value per entry of the table ({size})",
                      shown=f"shares of lengths {[len(r) for r in rows]}")
    if any(not 0 <= v < p for r in rows for v in r):
        raise ex.fail(expected, None, "shares are numbers modulo p: every value lies in [0, p)",
                      shown="a share value outside [0, p)")
    sums = [sum(col) % p for col in zip(*rows, strict=True)]
    if sums != target:
        raise ex.fail(expected, None, "these shares do not add up to the table modulo p: share the table "
                      "given in the exercise, with the aggregator whose prime you pass",
                      shown="shares that add up to another table")
    if sum(1 for r in rows if any(r)) < min(k, 2) or any(r == target for r in rows):
        raise ex.fail(expected, None, "the shares a provider sends must be uniformly random: let "
                      "sharer.share draw them (one share equal to the table gives it away)",
                      shown="shares that are not random")
    expected_r = f"the table added back: a flat list of its {size} counts"
    got = _flat_ints(reconstructed, ex, expected_r, "the reconstruction")
    if got != target:
        raw = [sum(col) for col in zip(*rows, strict=True)]
        if got == raw:
            hint = "reduce the sums modulo p (sharer.prime): the shares are uniform in [0, p)"
        elif got in rows:
            hint = f"that is one share alone: add all {k} of them, entry by entry"
        else:
            hint = ("add the shares entry by entry, then take each sum modulo p: "
                    "[sum(col) % p for col in zip(*shares)]")
        raise ex.fail(expected_r, None, hint, shown=f"a list of {len(got)} numbers"
                      if len(got) != size else f"{got[:6]}{'...' if len(got) > 6 else ''}")
    bits = "2^127 - 1" if p == MERSENNE_127 else f"a {p.bit_length()}-bit prime"
    return ok(f"{k} shares of {size} values, each uniform below p = {bits}; only their sum modulo p gives "
              f"back the table {target}")


def check_08_inferred_count(count, providers, binning, *, observer: str, feature: str, bin: int,
                            label) -> str:
    """Exercise 08.2: what ``observer`` infers (total - own) for one (feature bin, class) at the root.

    Recomputed from the providers' own records (a teacher's check): the count
    of records of every *other* provider at ``bin`` of ``feature`` with class
    ``label``.  The providers are not modified.
    """
    import copy

    from ..federated.report import bin_label

    ex = Exercise("08.2 (what one hospital infers)", f'{_S08}, section "4 · What one hospital sees"')
    by_name = {p.name: p for p in providers}
    if observer not in by_name:
        raise ValueError(f"observer {observer!r} is not one of the providers {list(by_name)}")
    classes = sorted(set().union(*(p.labels() for p in providers)))
    f = binning.feature_names.index(feature)
    c = classes.index(label)
    tables = {}
    for p in providers:
        mine = copy.copy(p)  # prepare() rebinds the routing state: work on a copy
        mine.prepare(binning, classes)
        tables[p.name] = mine.count_table(0)[f, bin]  # (classes,) at the root
    counts = {name: int(t[c]) for name, t in tables.items()}
    others = [name for name in by_name if name != observer]
    own = counts[observer]
    total = sum(counts.values())
    right = total - own
    where = bin_label(feature, binning.edges[feature], bin)
    expected = (f"the number of patients of {' and '.join(others)} together with {where} and class {label!r} "
                "(a whole number)")
    value = as_number(count, ex, expected, integer=True)
    if value == right:
        return ok(f"{' and '.join(others)} together hold {right} patients with {where} and class {label!r} "
                  f"(the total {total} minus {observer}'s own {own}); {observer} learns this sum, not how "
                  "it splits between them")
    if value == own:
        raise ex.fail(expected, count, f"that is {observer}'s own count: subtract it from the total")
    if value == total:
        raise ex.fail(expected, count, f"the total includes {observer}'s own patients: subtract its own "
                      "count")
    if value == -right:
        raise ex.fail(expected, count, "the sign is reversed: total - own, not own - total")
    if value in {counts[name] for name in others}:
        raise ex.fail(expected, count, f"that is one other hospital alone, which {observer} cannot know: "
                      "with three hospitals it only sees the sum of the other two (total - own)")
    other_class = {sum(int(t[k]) for name, t in tables.items() if name != observer)
                   for k in range(len(classes)) if k != c}
    if value in other_class:
        raise ex.fail(expected, count, f"that is another class: read the rows of class {label!r}")
    raise ex.fail(expected, count, f"provider_view(trainer, <{observer}>, round=\"level 0\", feature="
                  f"{feature!r}) has one row per (bin, class): take the row ({where!r}, {label!r}) and "
                  "compute total - own table")


def check_08_lightest_backend(backend, costs) -> str:
    """Exercise 08.3: the back-end of ``costs`` (from ``compare_backends``) with the fewest bytes in all."""
    ex = Exercise("08.3 (the lightest back-end)", f'{_S08}, section "5 · Three back-ends, one tree"')
    labels = [str(i) for i in costs.index]
    expected = f"the label of one back-end, a string among {labels}"
    if not isinstance(backend, str):
        raise ex.fail(expected, backend, "give the back-end's label, an entry of costs.index (e.g. "
                      "costs[...].idxmin())")
    name = backend.strip()
    if name not in labels:
        raise ex.fail(expected, backend, f"not a back-end of the table: the labels are {labels}")
    sizes = costs["bytes"].astype(int)
    right = str(sizes.idxmin())
    if name == right:
        rest = "; ".join(f"{label} {int(sizes[label]):,}" for label in labels if label != right)
        return ok(f"{right!r} puts the fewest bytes on the wire: {int(sizes[right]):,} in all ({rest})")
    if "bytes per provider" in costs.columns and name == str(costs["bytes per provider"].idxmin()):
        raise ex.fail(expected, backend, "that one has the smallest largest-sender load (bytes per "
                      "provider); the question is about every message: the column bytes")
    if "seconds" in costs.columns and name == str(costs["seconds"].idxmin()):
        raise ex.fail(expected, backend, "that is the fastest; the question is about bytes: the column bytes")
    if name == str(sizes.idxmax()):
        raise ex.fail(expected, backend, "that is the heaviest: look for the smallest value of "
                      "costs['bytes']")
    raise ex.fail(expected, backend, "compare the column bytes (every message of the training): the "
                  "smallest value, costs['bytes'].idxmin()")
