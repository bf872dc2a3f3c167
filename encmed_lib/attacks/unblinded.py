"""The original design, ``blinding="none"``: every threshold from one reply by subtraction."""

from __future__ import annotations

from ..crypto.encoding import SCALE
from ..protocol.client import Client
from ..protocol.messages import Reply
from .common import encoded_record


# ------------------------------------------------- 1. no blinding (v = d)
def recover_thresholds_unblinded(client: Client, record, reply: Reply) -> dict[int, float]:
    """Recover every threshold from one reply of the original, unblinded design.

    With ``blinding="none"`` the server returns :math:`v_j = d_j = T_j - X_f`
    and names each node's feature (``reply.features``).  The client encoded
    the record itself, so it knows :math:`X_f` and computes

    .. math::  T_j = v_j + X_f, \\qquad t_j \\approx T_j / 2^{26}

    Since :math:`T_j = \\lfloor t_j 2^{26} \\rfloor`, the true threshold lies in
    :math:`[T_j/2^{26}, (T_j + 1)/2^{26})`: the error is below :math:`2^{-26}`
    (:math:`10^{-12}`), whatever the record.

    Parameters
    ----------
    client : Client
        The client that sent the query (it decrypts the reply).
    record : pandas.Series or dict
        The record it encrypted (its own data: feature -> value).
    reply : Reply
        The server's answer (``blinding="none"``).

    Returns
    -------
    dict[int, float]
        Slot index (the order of the internal nodes) -> recovered threshold.

    Raises
    ------
    ValueError
        The reply does not name the features (it is blinded: this attack
        needs the original design).
    """
    if reply.features is None:
        raise ValueError(f"this reply (blinding={reply.blinding!r}) does not name the nodes' features: "
                         "the exact recovery needs the original design (blinding='none')")
    values = client.decrypt_values(reply)
    X = encoded_record(record)
    return {j: (v + X[f]) / SCALE for j, (v, f) in enumerate(zip(values, reply.features, strict=True))}
