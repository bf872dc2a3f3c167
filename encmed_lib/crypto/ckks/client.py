"""The patient's side of CKKS: the secret key, encryption of a standardised record, decryption.

:class:`CKKSClient` holds the full TenSEAL context (secret key included, never sent);
:meth:`CKKSClient.public_context` is what the server receives.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence

import numpy as np

from ...errors import DomainError, MalformedMessageError, MissingFeatureError
from ..encoding import as_float
from .params import (
    CKKS_PARAMETERS,
    PARAMETERS,
    STRATEGIES,
    VALUE_BOUND,
    check_parameters,
    require_tenseal,
    sigmoid,
    ts,
)

__all__ = ["CKKSClient", "record_values"]


def record_values(record, features: Sequence[str] | None) -> tuple[list[str], list[float]]:
    """``(names, values)`` of a record, in ``features`` order when given; every value checked."""
    if hasattr(record, "iloc") and getattr(record, "ndim", 1) == 2:
        if len(record) != 1:
            raise DomainError(f"expected one record, got a table of {len(record)} rows: "
                              "encrypt rows one at a time")
        record = record.iloc[0]
    if hasattr(record, "items") or isinstance(record, Mapping):
        items = {str(k): v for k, v in record.items()}
        names = list(features) if features is not None else list(items)
        for name in names:
            if name not in items:
                raise MissingFeatureError(f"the record lacks feature {name!r}, which the model needs "
                                          f"(the model's features: {names})")
        raw = [items[name] for name in names]
    else:
        raw = list(np.asarray(record, dtype=object).ravel())
        names = list(features) if features is not None else [f"x{i}" for i in range(len(raw))]
        if len(names) != len(raw):
            raise DomainError(f"the record has {len(raw)} values but {len(names)} features are expected")
    if not raw:
        raise DomainError("the record has no features")
    values = []
    for name, value in zip(names, raw, strict=True):
        x = as_float(value, name)
        if not math.isfinite(x):
            raise DomainError(f"feature {name!r}: expected a finite number, got {x!r} "
                              "(impute or drop missing values before encrypting)")
        if not abs(x) < VALUE_BOUND:
            raise DomainError(f"feature {name!r}: {x!r} is outside the encryptable domain "
                              f"|x| < 2**20 = {VALUE_BOUND:.0f}")
        values.append(x)
    return names, values



class CKKSClient:
    """The patient's side: the CKKS secret key, encryption of a record, decryption of a score.

    Parameters
    ----------
    poly_modulus_degree : int
        :math:`N`; ``N/2`` slots.  8192 by default.
    coeff_mod_bit_sizes : sequence of int
        Bit sizes of the primes: first, one per level (= ``scale_bits``), special.
        ``(60, 40, 40, 60)`` by default: 2 levels, 200 bits, 128-bit secure.
    scale_bits : int
        :math:`\\log_2 \\Delta`: values are encoded at scale ``2**scale_bits``.
    spec : mapping, optional
        The server's :meth:`CKKSServer.public_spec` (feature order, means,
        standard deviations, input bound), used by :meth:`encrypt`.

    Attributes
    ----------
    context : tenseal.Context
        The full context, with the secret key: it never leaves the client.
    setup_ms : float
        Time spent creating the context and generating the keys (Galois keys
        included).
    """

    def __init__(self, poly_modulus_degree: int = CKKS_PARAMETERS["poly_modulus_degree"],
                 coeff_mod_bit_sizes: Sequence[int] = CKKS_PARAMETERS["coeff_mod_bit_sizes"],
                 scale_bits: int = CKKS_PARAMETERS["scale_bits"], *, spec: Mapping | None = None):
        require_tenseal()
        check_parameters(poly_modulus_degree, coeff_mod_bit_sizes, scale_bits)
        self.poly_modulus_degree = int(poly_modulus_degree)
        self.coeff_mod_bit_sizes = tuple(int(b) for b in coeff_mod_bit_sizes)
        self.scale_bits = int(scale_bits)
        self.spec = None if spec is None else dict(spec)
        start = time.perf_counter()
        self.context = ts.context(ts.SCHEME_TYPE.CKKS, poly_modulus_degree=self.poly_modulus_degree,
                                  coeff_mod_bit_sizes=list(self.coeff_mod_bit_sizes))
        self.context.global_scale = 2.0 ** self.scale_bits
        self.context.generate_galois_keys()  # rotations: vector-matrix product and slot sums
        self.setup_ms = 1000 * (time.perf_counter() - start)
        self._public: bytes | None = None

    @classmethod
    def for_strategy(cls, strategy: str = "fold", **kwargs) -> CKKSClient:
        """A client with the parameters of :data:`PARAMETERS` ``[strategy]``."""
        if strategy not in PARAMETERS:
            raise ValueError(f"strategy must be one of {STRATEGIES}, got {strategy!r}")
        return cls(**PARAMETERS[strategy], **kwargs)

    @property
    def levels(self) -> int:
        """Multiplicative depth available: the number of rescaling primes."""
        return len(self.coeff_mod_bit_sizes) - 2

    @property
    def modulus_bits(self) -> int:
        """Total size of the modulus, special prime included (what security depends on)."""
        return sum(self.coeff_mod_bit_sizes)

    @property
    def slots(self) -> int:
        return self.poly_modulus_degree // 2

    def public_context(self) -> bytes:
        """The context to send to the server: public, relinearisation and Galois keys, **no secret key**.

        Serialised once and cached (about 35 MB with the default parameters).
        """
        if self._public is None:
            self._public = self.context.serialize(save_public_key=True, save_secret_key=False,
                                                  save_galois_keys=True, save_relin_keys=True)
        return self._public

    def context_sizes(self) -> dict[str, int]:
        """Bytes of the serialised context, built up key by key.

        Returns
        -------
        dict
            ``public key``, ``+ relinearisation keys``, ``+ Galois keys`` (the
            full public context, as sent) and, for reference, ``secret key
            context`` (parameters, public and secret key: what must *never* be
            sent).
        """
        ctx = self.context
        return {
            "public key": len(ctx.serialize(save_secret_key=False, save_galois_keys=False,
                                            save_relin_keys=False)),
            "+ relinearisation keys": len(ctx.serialize(save_secret_key=False, save_galois_keys=False)),
            "+ Galois keys": len(self.public_context()),
            "secret key context": len(ctx.serialize(save_secret_key=True, save_galois_keys=False,
                                                    save_relin_keys=False)),
        }

    def encode(self, record, spec: Mapping | None = None) -> list[float]:
        """The values :meth:`encrypt` encrypts: the record in the spec's order, standardised.

        Raises
        ------
        MissingFeatureError
            A feature of the spec is absent from the record.
        DomainError
            A value is not a number, is NaN or infinite, ``|x| >= 2**20``, or
            lies more than ``spec["input_bound"]`` standard deviations from the
            training mean (the message names the feature).
        """
        spec = spec if spec is not None else self.spec
        if spec is None:  # values sent as they are (already standardised by the caller)
            return record_values(record, None)[1]
        names, values = record_values(record, spec.get("features"))
        mean = np.asarray(spec["mean"], dtype=float)
        scale = np.asarray(spec["scale"], dtype=float)
        if len(values) != len(mean):
            raise DomainError(f"the record has {len(values)} values, the model expects {len(mean)}")
        z = (np.asarray(values) - mean) / scale
        bound = float(spec["input_bound"])
        for name, x, zi in zip(names, values, z, strict=True):
            if not abs(zi) <= bound:
                raise DomainError(f"feature {name!r}: {x!r} is {zi:+.1f} standard deviations from the "
                                  f"training mean; the encrypted evaluation is guaranteed up to ±{bound:g} "
                                  "(a unit error?)")
        return z.tolist()

    def encrypt(self, record, spec: Mapping | None = None) -> bytes:
        """One CKKS ciphertext of the whole standardised record (one value per slot), serialised.

        Parameters
        ----------
        record : pandas.Series, dict, one-row DataFrame or sequence of numbers
            Raw clinical values.  Features the spec does not list are not sent.
        spec : mapping, optional
            :meth:`CKKSServer.public_spec`; default: the client's ``spec``.
            Without any spec the values are encrypted as they are, in the
            record's order.

        Raises
        ------
        MissingFeatureError, DomainError
            See :meth:`encode` (nothing is encrypted then).
        """
        values = self.encode(record, spec)
        if len(values) > self.slots:
            raise DomainError(f"a record of {len(values)} values does not fit in {self.slots} slots")
        return ts.ckks_vector(self.context, values).serialize()

    def decrypt_score(self, data: bytes) -> float:
        """Decrypt the server's reply: the (approximate) score, a logit."""
        try:
            vec = ts.ckks_vector_from(self.context, data)
        except (ValueError, RuntimeError, TypeError) as exc:
            raise MalformedMessageError(f"the reply is not a CKKS vector under this client's "
                                        f"context ({exc})") from exc
        values = vec.decrypt()
        if len(values) != 1:
            raise MalformedMessageError(f"the reply holds {len(values)} values, expected one score")
        return float(values[0])

    @staticmethod
    def predict_proba(score: float) -> float:
        """``sigmoid(score)``: the probability of the positive class."""
        return float(sigmoid(score))

    def __repr__(self) -> str:
        return (f"<CKKSClient N={self.poly_modulus_degree}, primes {list(self.coeff_mod_bit_sizes)} "
                f"({self.modulus_bits} bits, {self.levels} levels), scale 2^{self.scale_bits}>")

