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


def _call(ex: Exercise, expected: str, what: str, fn, *args):
    """Call a student's function; an exception becomes a hint naming it."""
    if not callable(fn):
        raise ex.fail(expected, fn, f"{what} must be a function (def ...): the checker calls it itself")
    try:
        return fn(*args)
    except Exception as exc:  # the student's code: any error is a hint
        hint = f"{what} raised {type(exc).__name__}: {exc}"
        if isinstance(exc, (OverflowError, ValueError)) and ("int64" in str(exc) or "bounds" in str(exc)):
            hint += " (p = 2^127 - 1 does not fit in int64: draw Python ints, secrets.randbelow(p))"
        raise ex.fail(expected, None, hint, shown=f"an error when called with {len(args)} argument(s)") \
            from None


def _reference_table(X, y, binning, classes) -> np.ndarray:
    from ..federated import Provider

    provider = Provider("reference", X, y)
    provider.prepare(binning, classes)
    return provider.count_table(0)


def _edge_records(X, binning):
    """Copies of the first record with each feature at an edge, below its first edge, above its last."""
    import pandas as pd

    rows = []
    for name, edges in binning.edges.items():
        if len(edges) == 0:
            continue
        for value in (edges[len(edges) // 2], edges[0] - 1000.0, edges[-1] + 1000.0):
            row = X.iloc[[0]].copy()
            row[name] = float(value)
            rows.append(row)
    return pd.concat(rows, ignore_index=True)


def _table_hint(got: np.ndarray, right: np.ndarray, n: int, F: int) -> str:
    """Why a count table differs from the right one (shape, axes, classes, totals, edges)."""
    if got.shape != right.shape:
        F_, B_, C_ = right.shape
        if sorted(got.shape) == sorted(right.shape):
            return (f"the axes are in another order: counts[feature, bin, class], shape ({F_}, {B_}, {C_}) "
                    "(np.transpose)")
        return (f"the table has shape {right.shape}: (features, binning.max_bins, classes), every feature "
                "padded to the same number of bins")
    if np.array_equal(got, right[..., ::-1]):
        return "the classes are swapped: the last axis follows classes_ex, class 0 first"
    if int(got.sum()) != n * F:
        return (f"the table should hold {n * F} counts: each of the {n} records counts once in each of the "
                f"{F} features' histograms (values outside a range land in the first or last bin)")
    return ("some records are in the neighbouring bin: bin b holds e[b-1] < x <= e[b], so a value equal to "
            "an edge belongs to the bin below it: np.searchsorted(edges, x, side='left'), not np.digitize "
            "(and compare in float32, as the library does)")


def check_08_count_table(count_table, summed_table, hospitals, binning, classes=(0, 1)) -> str:
    """Exercise 08.1: a hospital's count table ``counts[feature, bin, class]`` from its raw records.

    ``count_table(X, y)`` is the student's function; it is called on every
    hospital of ``hospitals`` (a list of ``(X, y)``) and on records placed at
    the bin edges and outside the ranges, and compared with the library's
    :meth:`~encmed_lib.federated.Provider.count_table` at the root.
    ``summed_table`` (the sum of the hospitals' tables) is compared with the
    pooled table.
    """
    import pandas as pd

    ex = Exercise("08.1 (a hospital's count table)", f'{_S08}, sections "2 · Binning on public edges" and '
                  '"3 · The protocol, round by round"')
    classes = list(classes)
    F = len(binning.feature_names)
    expected = (f"a function count_table(X, y) returning the counts[feature, bin, class] of the records "
                f"X, y: an integer array of shape ({F}, {binning.max_bins}, {len(classes)})")
    probes = [(X, y, f"hospital {i + 1}") for i, (X, y) in enumerate(hospitals)]
    edges = _edge_records(hospitals[0][0], binning)
    probes.append((edges, np.full(len(edges), classes[-1]), "records at the bin edges"))
    for X, y, where in probes:
        got = _call(ex, expected, "count_table", count_table, X, y)
        right = _reference_table(X, y, binning, classes)
        got_arr = np.asarray(got)
        if got_arr.dtype.kind == "f" and np.array_equal(got_arr, np.round(got_arr)):
            got_arr = got_arr.astype(np.int64)
        if got_arr.dtype.kind not in "iu":
            raise ex.fail(expected, got, "counts are whole numbers: build the table with dtype=int "
                          "(np.zeros(..., dtype=np.int64))", shown=f"an array of dtype {got_arr.dtype}")
        if got_arr.shape != right.shape or not np.array_equal(got_arr, right):
            raise ex.fail(expected, None, _table_hint(got_arr, right, len(X), F),
                          shown=f"a wrong table for {where} (shape {got_arr.shape})")
    pooled = _reference_table(pd.concat([X for X, _ in hospitals], ignore_index=True),
                              np.concatenate([np.asarray(y) for _, y in hospitals]), binning, classes)
    summed = np.asarray(summed_table) if summed_table is not None else None
    shown = None if summed is None else f"an array of shape {summed.shape}"
    expected_sum = f"the sum of the {len(hospitals)} hospitals' tables, shape {pooled.shape}"
    if summed is None or summed.shape != pooled.shape:
        raise ex.fail(expected_sum, summed_table, "add the hospitals' tables cell by cell: "
                      "sum(count_table(X, y) for X, y in hospitals_ex)", shown=shown)
    if not np.array_equal(summed, pooled):
        own = [_reference_table(X, y, binning, classes) for X, y in hospitals]
        hint = ("that is one hospital's table: add all of them" if any(np.array_equal(summed, t) for t in own)
                else "add every hospital's table, cell by cell (what the secure aggregation computes)")
        raise ex.fail(expected_sum, None, hint, shown=shown)
    n = sum(len(X) for X, _ in hospitals)
    return ok(f"each hospital's table has {pooled.size} cells ({F} features × {binning.max_bins} bins × "
              f"{len(classes)} classes), {F} counts per record; the {len(hospitals)} tables add up to the "
              f"pooled table of the {n} records, cell by cell: the secure sum gives the coordinator exactly "
              "the counts a central trainer would use, and nothing else")


def _share_once(ex, expected, share, values, k, p) -> list[list[int]]:
    shares = _call(ex, expected, "share", share, list(values), k, p)
    if shares is None or isinstance(shares, (str, numbers.Number)) or not hasattr(shares, "__len__"):
        raise ex.fail(expected, shares, "share must return the list of the k shares (each a list of numbers)")
    parts = list(shares)
    if len(parts) != k:
        hint = (f"{len(parts)} shares for k = {k}: the k - 1 random ones and the last, v - (their sum) mod p"
                if len(parts) == k - 1 else f"k = {k} parties means {k} shares")
        raise ex.fail(expected, None, hint, shown=f"{len(parts)} shares for k = {k}")
    rows = [_flat_ints(s, ex, expected, "a share") for s in parts]
    if any(len(r) != len(values) for r in rows):
        raise ex.fail(expected, None, f"each share has one value per entry of the table ({len(values)})",
                      shown=f"shares of lengths {[len(r) for r in rows]}")
    if any(not 0 <= v < p for r in rows for v in r):
        raise ex.fail(expected, None, "shares are numbers modulo p: reduce every value into [0, p) (% p), "
                      "the last share too (v - sum can be negative)", shown="a share value outside [0, p)")
    if [sum(col) % p for col in zip(*rows, strict=True)] != [v % p for v in values]:
        raise ex.fail(expected, None, "these shares do not add up to the table modulo p: draw k - 1 shares "
                      "at random and make the last one (v - their sum) % p", shown="shares of another table")
    return rows


def _uniform_hint(ex, expected, share, k: int, p: int = 7, draws: int = 2100) -> None:
    """Every share position, over ``draws`` sharings of the value 3 mod 7, takes every residue often."""
    counts = np.zeros((k, p), dtype=int)
    for _ in range(draws):
        for i, row in enumerate(_share_once(ex, expected, share, [3], k, p)):
            counts[i, row[0]] += 1
    if ((counts > 0).sum(axis=1) == 1).all():
        if sum(int(counts[i, 0]) == draws for i in range(k)) >= k - 1:
            hint = ("one share is the table itself and the others are 0: draw k - 1 shares uniformly in "
                    "[0, p) and make the last one (v - their sum) % p")
        else:
            hint = ("the same shares at every call: draw fresh randomness each time (secrets.randbelow(p)), "
                    "not from a fixed seed")
        raise ex.fail(expected, None, hint, shown="shares that are not random")
    rare = counts.min(axis=1) < draws / p / 2
    if rare.any():
        i = int(np.flatnonzero(rare)[0])
        raise ex.fail(expected, None, f"share {i} is not uniform modulo p (with p = 7, {draws} sharings of "
                      f"3, it takes the values {counts[i].tolist()} times): every share but the last must be "
                      "drawn uniformly in [0, p), or a share gives the value away",
                      shown="shares that are not uniformly random")


def check_08_secret_sharing(share, reconstruct, prime: int | None = None) -> str:
    """Exercise 08.2: additive secret sharing by hand, ``share(values, k, p)`` and ``reconstruct(shares, p)``.

    Both are the student's functions.  ``share`` is called on a small table
    for k = 2, 3, 5 modulo ``prime`` (default :math:`2^{127} - 1`) and on a
    tiny prime (7) to test that every share is uniform; ``reconstruct`` must
    give the table back from the shares.
    """
    from ..federated.aggregation import MERSENNE_127

    ex = Exercise("08.2 (secret sharing by hand)", f'{_S08}, section "3 · The protocol, round by round"')
    p = int(prime) if prime is not None else MERSENNE_127
    table = [12, 3, 7, 0, 25, 9]
    expected = ("share(values, k, p): k lists of numbers in [0, p), uniformly random, that add up to the "
                "values modulo p; reconstruct(shares, p): the values back")
    for k in (3, 2, 5):
        rows = _share_once(ex, expected, share, table, k, p)
        back = _call(ex, expected, "reconstruct", reconstruct, rows, p)
        got = _flat_ints(back, ex, expected, "the reconstruction")
        if got != table:
            raw = [sum(col) for col in zip(*rows, strict=True)]
            hint = ("reduce the sums modulo p: the shares are uniform in [0, p)" if got == raw else
                    f"that is one share alone: add all {k} of them" if got in rows else
                    "add the shares entry by entry, then take each sum modulo p")
            raise ex.fail(expected, None, hint, shown=f"reconstruct gave {got[:6]} for k = {k}")
    _uniform_hint(ex, expected, share, 3)
    bits = "2^127 - 1" if p == MERSENNE_127 else f"a {p.bit_length()}-bit prime"
    return ok(f"shares of {len(table)} counts for k = 2, 3 and 5 parties, each share uniform modulo p "
              f"({bits}; tested with p = 7 too) and all of them together giving the table back: any k - 1 "
              "shares are independent of the table, only the sum of all k reveals it")


def _root_tables(providers, binning, classes) -> dict[str, np.ndarray]:
    """Every provider's count table at the root, ``(F, B, C)``, computed on copies (routing untouched)."""
    import copy

    tables = {}
    for p in providers:
        mine = copy.copy(p)  # prepare() rebinds the routing state: work on a copy
        mine.prepare(binning, classes)
        tables[p.name] = mine.count_table(0)
    return tables


def _inferred_hint(value: int, tables: dict, observer: str, cell: tuple[int, int, int], label, where: str,
                   feature: str, edges) -> str:
    """Why ``value`` is not the others' count at ``cell = (feature, bin, class)``."""
    f, b, c = cell
    own = int(tables[observer][cell])
    others = {name: int(t[cell]) for name, t in tables.items() if name != observer}
    right = sum(others.values())
    if value == own:
        return f"that is {observer}'s own count: subtract it from the total"
    if value == right + own:
        return f"the total includes {observer}'s own patients: subtract its own count"
    if value == -right:
        return "the sign is reversed: total - own, not own - total"
    if value in others.values():
        return (f"that is one other hospital alone, which {observer} cannot know: with three hospitals it "
                "only sees the sum of the other two (total - own)")
    def others_at(bb: int, cc: int) -> int:
        return sum(int(t[f, bb, cc]) for name, t in tables.items() if name != observer)
    if value in {others_at(b, k) for k in range(tables[observer].shape[2]) if k != c}:
        return f"that is another class: read the rows of class {label!r}"
    if value in {others_at(k, c) for k in range(len(edges) + 1) if k != b}:
        return (f"that is another bin of {feature}: bin b holds e[b-1] < x <= e[b], so {where} is bin {b} "
                f"(binning.edges[{feature!r}] = {[float(e) for e in edges]})")
    return ("add the published partial sums of round \"level 0\" modulo p, binning.unflatten them into "
            f"counts[feature, bin, class], and compute total - own table at ({feature!r}, bin {b}, class "
            f"{label!r})")


def check_08_inferred_count(count, providers, binning, *, observer: str, feature: str, bin: int,
                            label) -> str:
    """Exercise 08.3: what ``observer`` infers (total - own) for one (feature bin, class) at the root.

    Recomputed from the providers' own records (a teacher's check): the count
    of records of every *other* provider at ``bin`` of ``feature`` with class
    ``label``.  The providers are not modified.
    """
    from ..federated.report import bin_label

    ex = Exercise("08.3 (what one hospital infers)", f'{_S08}, sections "3 · The protocol, round by round" '
                  'and "4 · What one hospital sees"')
    by_name = {p.name: p for p in providers}
    if observer not in by_name:
        raise ValueError(f"observer {observer!r} is not one of the providers {list(by_name)}")
    classes = sorted(set().union(*(p.labels() for p in providers)))
    cell = (binning.feature_names.index(feature), bin, classes.index(label))
    tables = _root_tables(providers, binning, classes)
    others = [name for name in by_name if name != observer]
    own = int(tables[observer][cell])
    total = sum(int(t[cell]) for t in tables.values())
    where = bin_label(feature, binning.edges[feature], bin)
    expected = (f"the number of patients of {' and '.join(others)} together with {where} and class {label!r} "
                "(a whole number)")
    value = as_number(count, ex, expected, integer=True)
    if value == total - own:
        return ok(f"{' and '.join(others)} together hold {total - own} patients with {where} and class "
                  f"{label!r} (the total {total} minus {observer}'s own {own}); {observer} learns this sum, "
                  "not how it splits between them")
    raise ex.fail(expected, count, _inferred_hint(value, tables, observer, cell, label, where, feature,
                                                  binning.edges[feature]))


def check_08_lightest_backend(backend, costs) -> str:
    """Exercise 08.4: the back-end of ``costs`` (from ``compare_backends``) with the fewest bytes in all."""
    ex = Exercise("08.4 (the lightest back-end)", f'{_S08}, section "5 · Three back-ends, one tree"')
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
