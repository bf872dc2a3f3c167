"""Generators of the course's bundled, **synthetic** data.

Nothing in ``data/`` comes from real patients: it is written by the functions
here, deterministically from a seed, so that the course runs offline and its
outputs reproduce.  Rewrite every bundled file with::

    python -m encmed_lib.data.samples

The heart sample imitates the UCI Cleveland file: the same 13 columns, codes and
value ranges, ``?`` for a few missing values, and a disease that depends on the
clinically known drivers (chest-pain type, maximum heart rate, ST depression,
vessels coloured by fluoroscopy, thallium defect, exercise angina, age and sex).
It is generated as a *latent-class* model: first each patient's disease status
from age and sex, then every finding from distributions that differ between the
sick and the healthy (frequencies taken from the published summaries of the
Cleveland data).  A decision tree can learn real structure from it, but the
numbers it reaches are not clinical evidence.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from .heart import DEFAULT_FILE, FEATURES
from .paths import data_dir

HEART_SEED = 2024
SYNTHEA_SEED = 59
SYNTHEA_FOLDER = "synthea_sample"


def _choice(rng: np.random.Generator, codes, p_sick, p_well, sick: np.ndarray) -> np.ndarray:
    out = np.where(sick, rng.choice(codes, size=sick.size, p=p_sick),
                   rng.choice(codes, size=sick.size, p=p_well))
    return out.astype(float)


def make_heart_sample(n: int = 600, seed: int = HEART_SEED) -> np.ndarray:
    """Draw ``n`` synthetic patients in the UCI layout.

    Returns
    -------
    numpy.ndarray of shape (n, 14)
        The 13 attributes and ``num`` (0-4); ``nan`` marks a missing value.
    """
    rng = np.random.default_rng(seed)
    male = rng.random(n) < 0.68
    age = np.clip(np.round(rng.normal(54.4, 9.0, n)), 29, 77)
    # Prior risk from age and sex: about 45 % of patients are sick, as in Cleveland.
    logit = -1.05 + 0.06 * (age - 54) + 1.25 * male
    sick = rng.random(n) < 1 / (1 + np.exp(-logit))

    cp = _choice(rng, [1, 2, 3, 4], [0.05, 0.08, 0.15, 0.72], [0.09, 0.25, 0.43, 0.23], sick)
    exang = _choice(rng, [0, 1], [0.45, 0.55], [0.86, 0.14], sick)
    thalach = np.where(sick, rng.normal(139, 22, n), rng.normal(158, 19, n)) - 0.6 * (age - 54)
    thalach = np.clip(np.round(thalach), 71, 202)
    oldpeak = np.where(sick, rng.gamma(2.0, 0.85, n), rng.gamma(1.2, 0.5, n))
    oldpeak[rng.random(n) < np.where(sick, 0.15, 0.45)] = 0.0
    oldpeak = np.clip(np.round(oldpeak, 1), 0.0, 6.2)
    slope = _choice(rng, [1, 2, 3], [0.26, 0.64, 0.10], [0.65, 0.30, 0.05], sick)
    ca = _choice(rng, [0, 1, 2, 3], [0.32, 0.30, 0.23, 0.15], [0.80, 0.12, 0.05, 0.03], sick)
    thal = _choice(rng, [3, 6, 7], [0.27, 0.09, 0.64], [0.79, 0.04, 0.17], sick)
    trestbps = np.clip(np.round(rng.normal(131 + 0.45 * (age - 54) + 3 * sick, 17)), 94, 200)
    chol = np.clip(np.round(rng.normal(245 + 6 * sick, 50)), 126, 564)
    fbs = (rng.random(n) < 0.15).astype(float)
    restecg = rng.choice([0, 1, 2], size=n, p=[0.50, 0.02, 0.48]).astype(float)
    num = np.where(sick, rng.choice([1, 2, 3, 4], size=n, p=[0.40, 0.25, 0.25, 0.10]), 0)

    table = np.column_stack([age, male.astype(float), cp, trestbps, chol, fbs, restecg,
                             thalach, exang, oldpeak, slope, ca, thal, num]).astype(float)
    # A few missing values, like the real file (about 2 % of rows miss ca or thal).
    holes = rng.choice(n, size=max(1, n // 50), replace=False)
    for i, row in enumerate(holes):
        table[row, FEATURES.index("ca" if i % 2 == 0 else "thal")] = np.nan
    return table


def write_heart_sample(path: str | os.PathLike | None = None, *, n: int = 600,
                       seed: int = HEART_SEED) -> Path:
    """Write the synthetic heart sample in the UCI text layout (atomically).

    Parameters
    ----------
    path : path-like, optional
        Destination; default ``data/heart_synthetic.data``.
    n, seed : int
        Number of patients and the seed of the generator.
    """
    path = Path(path) if path is not None else data_dir() / DEFAULT_FILE
    table = make_heart_sample(n, seed)
    lines = []
    for row in table:
        cells = ["?" if np.isnan(v) else f"{v:.1f}" for v in row[:-1]] + [f"{int(row[-1])}"]
        lines.append(",".join(cells))
    _write_atomic(path, "\n".join(lines) + "\n")
    return path


def write_synthea_sample(folder: str | os.PathLike | None = None, *, seed: int = SYNTHEA_SEED) -> Path:
    """Write the synthetic Synthea-layout export (``data/synthea_sample/``)."""
    from .synthea import write_synthea_export

    folder = Path(folder) if folder is not None else data_dir() / SYNTHEA_FOLDER
    return write_synthea_export(folder, n_patients=400, n_organizations=4, seed=seed)


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_all(folder: str | os.PathLike | None = None) -> list[Path]:
    """Rewrite every bundled data file; returns the paths written."""
    base = Path(folder) if folder is not None else data_dir()
    return [write_heart_sample(base / DEFAULT_FILE), write_synthea_sample(base / SYNTHEA_FOLDER)]


if __name__ == "__main__":  # pragma: no cover
    for written in write_all():
        print("wrote", written)
