"""Names for the providers (hospitals) of a dataset: ``"provider A"`` for the largest, then B, C..."""

from __future__ import annotations

from string import ascii_uppercase

import numpy as np
import pandas as pd

__all__ = ["letters", "provider_labels"]


def letters(k: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA, ... (spreadsheet column names)."""
    name = ""
    k += 1
    while k:
        k, rest = divmod(k - 1, 26)
        name = ascii_uppercase[rest] + name
    return name


def provider_labels(organization) -> dict[str, str]:
    """Short names for organization ids: ``"provider A"`` for the largest, then B, C...

    Ties in size are broken by the id, so the names are reproducible.

    Parameters
    ----------
    organization : array-like
        The organization of each patient (e.g. from :func:`encmed_lib.load_synthea`).

    Returns
    -------
    dict
        Organization id -> ``"provider A"``, ``"provider B"``..., largest first.
    """
    counts = pd.Series(np.asarray(organization).ravel()).value_counts()
    order = sorted(counts.index, key=lambda org: (-int(counts[org]), str(org)))
    return {org: f"provider {letters(k)}" for k, org in enumerate(order)}
