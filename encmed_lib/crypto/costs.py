"""What Paillier costs: time per operation and size of a ciphertext.

:func:`time_operations` measures, for each key size, the wall time of the
operations the course's protocol is made of, on this machine:

* **key generation (phe)**: ``phe.paillier.generate_paillier_keypair``
  (finding two random primes of half the key size; the slowest step and the
  most variable one, since prime search is a random walk);
* **phe encrypt / phe decrypt**: python-paillier's own ``encrypt`` of an int
  (encoding + :math:`(1 + mn)\\,r^n \\bmod n^2`) and ``decrypt`` (CRT);
* **raw r^n randomiser**: ``gmpy2.powmod(r, n, n**2)``, the classic
  randomiser, the cost that dominates a textbook encryption;
* **CRT randomiser**: the same :math:`r^n`, computed by whoever knows
  :math:`p, q` modulo :math:`p^2` and :math:`q^2` (our
  :class:`~encmed_lib.crypto.paillier.PrivateKey` with a classic key);
* **DJN randomiser (fixed base)**: :math:`h_s^a` for a short exponent
  :math:`a` with a precomputed table (our
  :class:`~encmed_lib.crypto.paillier.PublicKey` with :math:`h_s`): what anyone
  holding only the public key can do;
* **our encrypt (client: CRT + DJN)**: the key owner's encryption, short
  exponent *and* CRT;
* **re-randomise (server: DJN)**: one multiplication by a fresh DJN
  randomiser, which the server does to every ciphertext it returns;
* **add two ciphertexts**, **multiply by small int** (a 21-bit scalar, the
  size of the server's blinding factors) and **decrypt (CRT)**.

Why the median?  A timing is the true cost plus noise that is only ever
*positive*: the operating system, the garbage collector or another program
interrupting, a cold cache.  The mean is dragged up by a single interruption;
the median of a few repetitions is not, and it is what a reader reproducing
the figure on a quiet machine will see.  Each repetition of a very fast
operation (an addition takes microseconds) times a batch of calls and divides,
so that the clock's resolution and the call overhead do not dominate.  One-off
set-up (the fixed-base tables, the keys of the per-operation timings) is done
before the clock starts.

:func:`ciphertext_sizes` gives the other cost: a ciphertext is an element of
:math:`\\mathbb{Z}_{n^2}`, twice as long as the key, whatever the (small) value
it hides.
"""

from __future__ import annotations

import math
import secrets
import statistics
import time
import warnings
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING

import gmpy2
import pandas as pd
from phe import paillier as phe_paillier

from .paillier import Keypair, PrivateKey, PublicKey, generate_keypair

if TYPE_CHECKING:  # matplotlib is imported on use, by plot_operation_times
    from matplotlib.axes import Axes

OPERATIONS: tuple[str, ...] = (
    "key generation (phe)",
    "phe encrypt",
    "phe decrypt",
    "raw r^n randomiser",
    "CRT randomiser",
    "DJN randomiser (fixed base)",
    "our encrypt (client: CRT + DJN)",
    "re-randomise (server: DJN)",
    "add two ciphertexts",
    "multiply by small int",
    "decrypt (CRT)",
)
"""The operations :func:`time_operations` measures, in the order it reports them."""

SCALAR_BITS = 21
"""Bit length of the plaintext scalar in ``multiply by small int`` (basic mode's blinds, ``BLIND_BITS``)."""

MIN_SAMPLE_SECONDS = 2e-4
"""A timed sample of a fast operation lasts at least this long (a batch of calls)."""


def call_ms(fn: Callable[[], object], repeats: int, *, batch: bool = True) -> float:
    """Median wall time of one call of ``fn`` in milliseconds, over ``repeats`` samples.

    Parameters
    ----------
    fn : callable
        The operation, without arguments.
    repeats : int
        Number of timed samples (at least 1).
    batch : bool
        If true, ``fn`` is first called once (a warm-up that also calibrates),
        and each sample times as many calls as needed to last about
        :data:`MIN_SAMPLE_SECONDS`, divided by that number.  If false, each
        sample is a single call and there is no warm-up (for key generation).

    Returns
    -------
    float
        The median time per call, in milliseconds.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    number = 1
    if batch:
        start = time.perf_counter()
        fn()
        first = time.perf_counter() - start
        if first < MIN_SAMPLE_SECONDS:
            number = min(10_000, max(1, math.ceil(MIN_SAMPLE_SECONDS / max(first, 1e-7))))
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        samples.append((time.perf_counter() - start) / number)
    return 1000.0 * statistics.median(samples)


def _our_keypair(key_bits: int) -> Keypair:
    """A DJN key pair of our layer, without the library's small-key warning."""
    with warnings.catch_warnings():
        # 1024-bit keys are measured on purpose (to compare key sizes): the
        # "tests and demonstrations only" warning would only be noise here.
        warnings.simplefilter("ignore", UserWarning)
        return generate_keypair(key_bits, djn=True)


def _operation_timers(keypair: Keypair) -> dict[str, Callable[[], object]]:
    """The callables timed for one key pair, keyed by operation name (keygen excluded)."""
    pk, sk = keypair.public_key, keypair.private_key
    if pk.hs is None:
        raise ValueError("time_operations needs DJN key pairs (generate_keypair(..., djn=True))")
    n, nsquare = pk.n, pk.nsquare
    phe_pk = pk.to_phe()
    phe_sk = phe_paillier.PaillierPrivateKey(phe_pk, int(sk.p), int(sk.q))
    classic_sk = PrivateKey(PublicKey(n), sk.p, sk.q)  # same factors, no h_s: classic CRT r^n

    message = secrets.randbits(SCALAR_BITS)
    scalar = secrets.randbits(SCALAR_BITS) | (1 << (SCALAR_BITS - 1))  # exactly SCALAR_BITS bits
    phe_ciphertext = phe_pk.encrypt(message)
    c1, c2 = sk.encrypt(message), sk.encrypt(message + 1)
    if phe_sk.decrypt(phe_ciphertext) != message or sk.raw_decrypt(c1) != message:
        raise RuntimeError("a round trip failed: the timings would measure a broken key")

    def random_unit() -> int:
        return secrets.randbelow(int(n) - 1) + 1  # a non-unit has probability ~2**-(bits/2)

    return {
        "phe encrypt": lambda: phe_pk.encrypt(message),
        "phe decrypt": lambda: phe_sk.decrypt(phe_ciphertext),
        "raw r^n randomiser": lambda: gmpy2.powmod(random_unit(), n, nsquare),
        "CRT randomiser": classic_sk.randomiser,
        "DJN randomiser (fixed base)": pk.randomiser,
        "our encrypt (client: CRT + DJN)": lambda: sk.encrypt(message),
        "re-randomise (server: DJN)": lambda: pk.rerandomise(c1),
        "add two ciphertexts": lambda: pk.add(c1, c2),
        "multiply by small int": lambda: pk.mul_plain(c1, scalar),
        "decrypt (CRT)": lambda: sk.raw_decrypt(c1),
    }


def time_operations(key_sizes: Iterable[int] = (1024, 2048, 3072), repeats: int = 20, *,
                    repeats_keygen: int = 3,
                    keypairs: Mapping[int, Keypair] | None = None) -> pd.DataFrame:
    """Median wall time of each Paillier operation, per key size.

    Parameters
    ----------
    key_sizes : iterable of int
        Key lengths in bits (1024 or more; 1024 is measured without warning).
    repeats : int
        Timed samples per operation other than key generation.
    repeats_keygen : int
        Key generations timed per key size (3072-bit keys can take a second
        each); 0 leaves the ``key generation (phe)`` rows out.
    keypairs : mapping of int to Keypair, optional
        Ready key pairs of our layer (with DJN's :math:`h_s`) to time the other
        operations with, by key size; a size without one gets a fresh key pair
        (whose generation is not timed).

    Returns
    -------
    pandas.DataFrame
        Long format, one row per (key size, operation): ``key_bits`` (int),
        ``operation`` (str, one of :data:`OPERATIONS`, in that order) and
        ``ms`` (float, median milliseconds per operation).

    Examples
    --------
    >>> df = time_operations((1024,), repeats=3, repeats_keygen=1)  # doctest: +SKIP
    >>> operation_table(df)                                          # doctest: +SKIP
    """
    if repeats_keygen < 0:
        raise ValueError(f"repeats_keygen must be 0 or more, got {repeats_keygen}")
    keypairs = dict(keypairs or {})
    rows = []
    for bits in key_sizes:
        bits = int(bits)
        times: dict[str, float] = {}
        if repeats_keygen:
            times["key generation (phe)"] = call_ms(
                lambda b=bits: phe_paillier.generate_paillier_keypair(n_length=b),
                repeats_keygen, batch=False)
        keypair = keypairs.get(bits) or _our_keypair(bits)
        if keypair.public_key.bits != bits:
            raise ValueError(f"keypairs[{bits}] is a {keypair.public_key.bits}-bit key")
        for name, fn in _operation_timers(keypair).items():
            times[name] = call_ms(fn, repeats)
        rows += [{"key_bits": bits, "operation": op, "ms": times[op]}
                 for op in OPERATIONS if op in times]
    return pd.DataFrame(rows, columns=["key_bits", "operation", "ms"])


def operation_table(df: pd.DataFrame) -> pd.DataFrame:
    """The timings as a table: one row per operation (in :data:`OPERATIONS` order), one column per key size.

    Parameters
    ----------
    df : pandas.DataFrame
        The output of :func:`time_operations`.

    Returns
    -------
    pandas.DataFrame
        Median milliseconds, indexed by ``operation``, columns ``key_bits``.
    """
    table = df.pivot(index="operation", columns="key_bits", values="ms")
    order = [op for op in OPERATIONS if op in table.index]
    order += [op for op in table.index if op not in order]
    return table.loc[order]


def ciphertext_sizes(key_sizes: Iterable[int] = (1024, 2048, 3072)) -> pd.DataFrame:
    """Size of one Paillier ciphertext for each key size.

    A plaintext is an integer modulo :math:`n` (``key_bits`` bits); its
    ciphertext is an integer modulo :math:`n^2`, so twice as long, whatever
    the value hidden inside.  In the course's JSON messages each ciphertext is
    sent as ``ciphertext_bytes`` big-endian bytes in base64 (4 characters per
    3 bytes).

    Parameters
    ----------
    key_sizes : iterable of int
        Key lengths in bits.

    Returns
    -------
    pandas.DataFrame
        Columns ``key_bits``, ``plaintext_bits`` (room in one plaintext),
        ``ciphertext_bytes`` and ``base64_chars``.
    """
    rows = []
    for bits in key_sizes:
        nbytes = (2 * int(bits) + 7) // 8
        rows.append({"key_bits": int(bits), "plaintext_bits": int(bits),
                     "ciphertext_bytes": nbytes, "base64_chars": 4 * math.ceil(nbytes / 3)})
    return pd.DataFrame(rows, columns=["key_bits", "plaintext_bits", "ciphertext_bytes",
                                       "base64_chars"])


def plot_operation_times(df: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Grouped horizontal bars of the time per operation, one colour per key size (log scale).

    Parameters
    ----------
    df : pandas.DataFrame
        The output of :func:`time_operations` (columns ``key_bits``,
        ``operation``, ``ms``).
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure is created if omitted.

    Returns
    -------
    matplotlib.axes.Axes
        The axes, with one bar per (operation, key size); saving the figure is
        left to the caller.
    """
    import matplotlib.pyplot as plt

    table = operation_table(df)
    sizes = list(table.columns)
    operations = list(table.index)
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 0.8 + 0.22 * len(operations) * max(len(sizes), 1)))
    height = 0.8 / max(len(sizes), 1)
    colours = plt.get_cmap("viridis")
    for k, bits in enumerate(sizes):
        # Key sizes top to bottom within each group, operations top to bottom overall.
        ys = [i + (k - (len(sizes) - 1) / 2) * height for i in range(len(operations))]
        colour = colours(0.15 + 0.7 * k / max(len(sizes) - 1, 1))
        ax.barh(ys, table[bits].to_numpy(), height=height * 0.95, color=colour,
                label=f"{bits}-bit key")
    ax.set_xscale("log")
    ax.set_yticks(range(len(operations)), operations)
    ax.invert_yaxis()
    ax.set_xlabel("median time per operation (ms, log scale)")
    ax.set_title("Paillier: time per operation")
    ax.grid(axis="x", which="major", alpha=0.4)
    ax.grid(axis="x", which="minor", alpha=0.15)
    ax.set_axisbelow(True)
    ax.legend(title="key size", loc="upper left", bbox_to_anchor=(1.01, 1.0))  # never over a bar
    return ax
