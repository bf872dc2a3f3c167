"""Denial of service: what one query with an oversized key costs the server.

The client chooses the modulus, and the server's work grows with it: each
reply needs at least one full re-randomiser :math:`\\rho^n \\bmod n^2`, an
exponentiation whose cost grows like the cube of the key length (a
:math:`b`-bit exponent, :math:`2b`-bit multiplications), plus the per-node
powers and the packing shifts modulo :math:`n^2`.  A client that sends a
14,000-bit modulus makes the server do, by that cube rule, about 300 times
the work of a 2,048-bit one, for a query of a few dozen kilobytes.  :func:`dos_probe`
measures it: the server's CPU seconds (``time.process_time``) for one query
per key size.  A size cap shows as ``"refused"``; a modulus so long that its
decimal string exceeds Python's integer-conversion limit (4,300 digits,
about 14,300 bits) fails by accident, with a plain ``ValueError``: reported
as ``"failed"``.

The modulus is a random odd number of the requested length: without a proof
of its form (:mod:`.malformed`) the server cannot tell it from a product of
two primes, and its work does not depend on the factors.
"""

from __future__ import annotations

import secrets
import sys
import time
from collections.abc import Iterable, Sequence

import pandas as pd

from ..errors import EncmedError
from ..protocol.linear import LinearQuery, LinearServer
from ..protocol.messages import Query


def oversized_query(bits: int, features: Iterable[str], *, linear: bool = False) -> str:
    """The JSON of a query under a random odd ``bits``-bit modulus (ciphertexts :math:`1 + n`, units)."""
    n = secrets.randbits(bits) | (1 << (bits - 1)) | 1
    names = [str(f) for f in features]
    kind = LinearQuery if linear else Query
    limit = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)  # the attacker writes any length; restored before the server parses
    try:
        return kind(secrets.token_hex(16), {"n": str(n)}, names, [1 + n] * len(names)).to_json()
    finally:
        sys.set_int_max_str_digits(limit)


def dos_probe(server, features: Iterable[str], key_bits: Sequence[int] = (2048, 4096, 8192)) -> pd.DataFrame:
    """The server's CPU time for one query per key size.

    Parameters
    ----------
    server : TreeServer or LinearServer
        Called as ``server.evaluate(query_json)`` (parsing included).
    features : iterable of str
        Every feature the query must carry.
    key_bits : sequence of int
        Modulus lengths to try.

    Returns
    -------
    pandas.DataFrame
        One row per size: ``key_bits``, ``query_bytes``, ``server_cpu_s``,
        ``outcome`` (``"answered"``, ``"refused"`` for an
        :class:`~encmed_lib.errors.EncmedError`, ``"failed"`` otherwise) and ``error``.
    """
    names = [str(f) for f in features]
    linear = isinstance(server, LinearServer)
    rows = []
    for bits in key_bits:
        text = oversized_query(int(bits), names, linear=linear)
        start = time.process_time()
        try:
            server.evaluate(text)
            outcome, error = "answered", ""
        except EncmedError as exc:
            outcome, error = "refused", f"{type(exc).__name__}: {exc}"
        except Exception as exc:  # noqa: BLE001 - reported, not hidden
            outcome, error = "failed", f"{type(exc).__name__}: {exc}"
        rows.append({"key_bits": int(bits), "query_bytes": len(text),
                     "server_cpu_s": time.process_time() - start, "outcome": outcome, "error": error})
    return pd.DataFrame(rows)
