"""Model extraction: a score is one linear equation in ``(w, b)``; least squares reads the model.

See *What each protocol leaks* in :mod:`encmed_lib.protocol.linear`: ``d + 1``
exact scores give :math:`w` and :math:`b`; rounded or noisy scores slow the
attack to an error :math:`\\propto 1/\\sqrt{q}` in the number of queries :math:`q`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import partial
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..client import Client
from .client import score_encrypted
from .messages import OUTPUTS
from .model import linear_parameters
from .server import NOISE_TERMS, LinearServer

if TYPE_CHECKING:  # matplotlib is imported on use, by plot_extraction_curve
    from matplotlib.figure import Figure

__all__ = ["Oracle", "plaintext_oracle", "encrypted_oracle", "extract_linear_model", "extraction_curve",
           "plot_extraction_curve"]

Oracle = Callable[[np.ndarray], np.ndarray]
"""The server as an attacker sees it: records of shape ``(q, d)`` -> ``q`` returned scores."""


def _parse_defence(spec: str) -> dict:
    """``"exact"``, ``"rounded-<decimals>"`` or ``"noisy-<std>"`` -> LinearServer keywords."""
    kind, _, param = str(spec).partition("-")
    try:
        if kind == "exact" and not param:
            return {"output": "exact"}
        if kind == "rounded":
            return {"output": "rounded", "decimals": int(param)}
        if kind == "noisy":
            return {"output": "noisy", "noise_scale": float(param)}
    except ValueError:
        pass
    raise ValueError(f"a defence is 'exact', 'rounded-<decimals>' or 'noisy-<std>', got {spec!r}")


def plaintext_oracle(coef, intercept: float, output: str = "exact", *, decimals: int = 2,
                     noise_scale: float = 0.1, rng: np.random.Generator | None = None) -> Oracle:
    """The scores a :class:`LinearServer` would return, computed in the clear (fast).

    ``w·x + b`` in float64 (within :func:`score_error_bound` of the encrypted
    score), then the defence: ``round(s, decimals)`` as :func:`decrypt_score`,
    or Irwin-Hall noise of standard deviation ``noise_scale`` drawn from
    ``rng`` (seeded: statistical randomness is enough to *measure* the defence).
    """
    w = np.asarray(coef, dtype=float).ravel()
    b = float(intercept)
    if output not in OUTPUTS:
        raise ValueError(f"output must be one of {OUTPUTS}, got {output!r}")
    rng = np.random.default_rng() if rng is None else rng

    def oracle(X: np.ndarray) -> np.ndarray:
        s = np.asarray(X, dtype=float) @ w + b
        if output == "rounded":
            s = np.array([round(float(v), decimals) for v in s])
        elif output == "noisy":
            s = s + (rng.random((s.size, NOISE_TERMS)).sum(axis=1) - NOISE_TERMS / 2) * noise_scale
        return s

    return oracle


def encrypted_oracle(client: Client, server: LinearServer) -> Oracle:
    """Score each record through the real protocol (JSON both ways): slow, for checks."""
    names = server.feature_names

    def oracle(X: np.ndarray) -> np.ndarray:
        rows = np.atleast_2d(np.asarray(X, dtype=float))
        return np.array([score_encrypted(client, server, dict(zip(names, row, strict=True)))[0]
                         for row in rows])

    return oracle


def extract_linear_model(oracle: Oracle, n_features: int, n_queries: int, rng: np.random.Generator,
                         *, center=None, spread=None, input_scale: float = 1.0
                         ) -> tuple[np.ndarray, float]:
    """Estimate ``(w, b)`` from ``n_queries`` random records and the returned scores.

    The attacker draws ``z`` standard normal and queries ``x = center +
    input_scale · spread · z`` (``center`` 0 and ``spread`` 1 by default; a
    public sample's mean and standard deviation give realistic records).  As
    ``s = Σ w_i x_i + b = Σ (w_i input_scale spread_i) z_i + (b + w·center)``,
    least squares of the scores on ``[z, 1]`` (well conditioned) gives the
    coefficients, mapped back to ``(w, b)``.  Exact scores: ``d + 1`` queries
    suffice; rounded or noisy ones: the error falls like ``1/sqrt(q)``.
    """
    d, q = int(n_features), int(n_queries)
    if q < d + 1:
        raise ValueError(f"{q} queries cannot determine {d} weights and an intercept: "
                         f"use at least d + 1 = {d + 1}")
    center = np.zeros(d) if center is None else np.asarray(center, dtype=float).ravel()
    spread = np.ones(d) if spread is None else np.asarray(spread, dtype=float).ravel()
    spread = input_scale * np.where(spread > 0, spread, 1.0)
    z = rng.standard_normal((q, d))
    scores = np.asarray(oracle(center + spread * z), dtype=float).ravel()
    design = np.hstack([z, np.ones((q, 1))])
    solution, *_ = np.linalg.lstsq(design, scores, rcond=None)
    w_hat = solution[:d] / spread
    return w_hat, float(solution[d] - w_hat @ center)


def _attacked_model(server_model) -> tuple[np.ndarray, float, list[str]]:
    """``(coef, intercept, feature names)`` of the model under attack (names ``x0, x1, ...`` if none)."""
    if isinstance(server_model, LinearServer):
        return server_model.coef, server_model.intercept, server_model.feature_names
    coef, intercept, names, _ = linear_parameters(server_model)
    return coef, intercept, names or [f"x{i}" for i in range(coef.size)]


def _public_moments(X_public, names: list[str], d: int) -> tuple[np.ndarray, np.ndarray]:
    """The mean and standard deviation of the public records' ``d`` model features."""
    if isinstance(X_public, pd.DataFrame):
        absent = [f for f in names if f not in X_public.columns]
        if absent:
            raise ValueError(f"X_public lacks the model's feature(s) {absent}")
        public = X_public[names].to_numpy(dtype=float)
    else:
        public = np.asarray(X_public, dtype=float)
    if public.ndim != 2 or public.shape[1] != d:
        raise ValueError(f"X_public must have {d} columns, got shape {public.shape}")
    return public.mean(axis=0), public.std(axis=0)


def _oracle(coef: np.ndarray, intercept: float, options: dict, client: Client | None,
            server: LinearServer | None, seeds: tuple[int, int, int], r: int) -> Oracle:
    """Attack ``r``'s oracle: the real protocol if there is a ``server``, else the plaintext one.

    The plaintext oracle's noise comes from the generator seeded ``[seed, q, r, k, 1]``
    (``seeds = (seed, q, k)``).
    """
    if server is not None:
        return encrypted_oracle(client, server)
    seed, q, k = seeds
    return plaintext_oracle(coef, intercept, rng=np.random.default_rng([seed, q, r, k, 1]), **options)


def _median_errors(coef: np.ndarray, intercept: float, oracle_for: Callable[[int], Oracle], q: int,
                   repeats: int, seed: int, **shape) -> tuple[float, float]:
    """Medians over ``repeats`` attacks of :math:`\\|\\hat w - w\\| / \\|w\\|` and :math:`|\\hat b - b|`.

    Attack ``r`` queries ``oracle_for(r)`` with ``q`` records drawn from the
    generator seeded ``[seed, q, r]`` (``shape``: ``center``, ``spread``, ``input_scale``).
    """
    errors, b_errors = [], []
    for r in range(repeats):
        w_hat, b_hat = extract_linear_model(oracle_for(r), coef.size, q, np.random.default_rng([seed, q, r]),
                                            **shape)
        errors.append(float(np.linalg.norm(w_hat - coef)) / float(np.linalg.norm(coef)))
        b_errors.append(abs(b_hat - intercept))
    return float(np.median(errors)), float(np.median(b_errors))


def extraction_curve(server_model, X_public, query_counts: Iterable[int],
                     defences: Sequence[str] = ("exact", "rounded-2", "noisy-0.1"), seed: int = 0,
                     encrypted: bool = False, client: Client | None = None, *, repeats: int = 3,
                     input_scale: float = 1.0) -> pd.DataFrame:
    """How fast least squares recovers the model, per number of queries and defence.

    Parameters
    ----------
    server_model : LinearServer, LogisticRegression, Pipeline or (coef, intercept)
        The model under attack (only the scoring helpers read its weights).
    X_public : DataFrame or array of shape (m, d)
        Public records: their mean and standard deviation shape the queries.
    query_counts : iterable of int
        Numbers of queries, each at least ``d + 1``.
    defences : sequence of str
        ``"exact"``, ``"rounded-<decimals>"``, ``"noisy-<std>"``.
    seed : int
        Seeds the attacker's records (the same for every defence) and the
        plaintext oracle's noise.
    encrypted : bool
        Run the real protocol with ``client`` (slow: keep counts small) instead
        of the plaintext oracle; the noise is then the server's own.
    repeats : int
        Independent attacks per point; the medians are reported.
    input_scale : float
        Multiplies the records' spread (large values defeat rounding and noise).

    Returns
    -------
    pandas.DataFrame
        Columns ``queries``, ``defence``, ``rel_error`` (median
        :math:`\\|\\hat w - w\\| / \\|w\\|`) and ``intercept_error`` (median
        :math:`|\\hat b - b|`); ``attrs["n_features"]`` is ``d``.
    """
    coef, intercept, names = _attacked_model(server_model)
    d = coef.size
    center, spread = _public_moments(X_public, names, d)
    counts = [int(q) for q in query_counts]
    if any(q < d + 1 for q in counts):
        raise ValueError(f"every query count must be at least d + 1 = {d + 1}, got {counts}")
    if encrypted and client is None:
        raise ValueError("encrypted=True needs a client (encmed_lib.Client)")
    rows = []
    for k, spec in enumerate(defences):
        options = _parse_defence(spec)
        server = LinearServer((coef, intercept), names, **options) if encrypted else None
        for q in counts:
            oracle_for = partial(_oracle, coef, intercept, options, client, server, (seed, q, k))
            rel_error, intercept_error = _median_errors(
                coef, intercept, oracle_for, q, repeats, seed, center=center, spread=spread,
                input_scale=input_scale)
            rows.append({"queries": q, "defence": str(spec), "rel_error": rel_error,
                         "intercept_error": intercept_error})
    df = pd.DataFrame(rows, columns=["queries", "defence", "rel_error", "intercept_error"])
    df.attrs.update(n_features=d, input_scale=input_scale, encrypted=encrypted, repeats=repeats)
    return df


def plot_extraction_curve(df: pd.DataFrame, n_features: int | None = None, *,
                          title: str = "A score is a linear equation: model extraction") -> Figure:
    """Relative error of the extracted weights against the number of queries (log-log).

    One line per defence, a dashed vertical line at ``d + 1`` queries (enough
    for exact scores) and a dotted guide of slope ``-1/2``.  ``n_features``
    defaults to ``df.attrs["n_features"]``.
    """
    from matplotlib.figure import Figure

    d = n_features if n_features is not None else df.attrs.get("n_features")
    fig = Figure(figsize=(7, 4.2), layout="constrained")
    ax = fig.subplots()
    markers = "osD^v<>"
    for k, (spec, part) in enumerate(df.groupby("defence", sort=False)):
        part = part.sort_values("queries")
        ax.plot(part["queries"], part["rel_error"].clip(lower=1e-17), marker=markers[k % len(markers)],
                label=str(spec))
    perturbed = df[df["defence"] != "exact"]
    counts = np.sort(df["queries"].unique())
    if not perturbed.empty and counts.size > 2:  # a guide through the top curve's last point, above it
        q_last = counts[-1]
        e_last = 2 * perturbed.loc[perturbed["queries"] == q_last, "rel_error"].max()
        q = np.array([counts[1], q_last], dtype=float)
        ax.plot(q, e_last * np.sqrt(q_last / q), ":", color="0.5", label=r"$\propto 1/\sqrt{q}$")
    if d is not None:
        ax.axvline(d + 1, color="black", linestyle="--", linewidth=1, label=f"d + 1 = {d + 1} queries")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("queries (random records)")
    ax.set_ylabel(r"relative error $\|\hat w - w\| / \|w\|$")
    ax.set_title(title)
    ax.grid(alpha=0.3, which="major")
    ax.legend()
    return fig
