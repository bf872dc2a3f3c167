"""The model owner's side of CKKS: a :class:`SquareMLP` evaluated on an encrypted record.

The server holds the weights in clear and a *public* context (no secret key: refused);
it guarantees the range of every slot through :attr:`CKKSServer.input_bound`.
"""

from __future__ import annotations

import math

import numpy as np

from ...errors import MalformedMessageError, ProtocolError
from .estimator import SquareMLP
from .params import LEVELS, PARAMETERS, RANGE_MARGIN, STRATEGIES, VALUE_BOUND, require_tenseal, ts

__all__ = ["CKKSServer"]


class CKKSServer:
    """The model owner: evaluates a :class:`SquareMLP` on a CKKS-encrypted record.

    Parameters
    ----------
    model : SquareMLP
        A fitted model; its weights stay in clear at the server.
    strategy : {"fold", "square"}
        ``"fold"`` (default, 2 levels): ``score = z · u + b2`` with
        ``z = x W1 + b1`` and ``u = x (W1 diag w2) + b1 * w2``.  ``"square"``
        (3 levels, needs :data:`SQUARE_PARAMETERS`): ``z``, then ``z²``, then
        the dot product with ``w2``.  See the module docstring.

    Attributes
    ----------
    input_bound : float
        The largest ``B`` such that standardised inputs with ``|x| <= B`` keep
        every slot of every intermediate ciphertext within range (published in
        :meth:`public_spec`; the client enforces it).

    The server holds no key: it receives the client's public context with
    each query (:meth:`evaluate`) and keeps the last one parsed, so that a
    client's successive queries do not pay for parsing 35 MB again.
    """

    def __init__(self, model: SquareMLP, strategy: str = "fold"):
        require_tenseal()
        if strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {STRATEGIES}, got {strategy!r}")
        model._check_fitted()
        self.model = model
        self.strategy = strategy
        self.features = model.features
        self.n_features = int(model.n_features_in_)
        W1, w2 = (np.asarray(a, dtype=float) for a in model.coefs_)
        b1, b2 = np.asarray(model.intercepts_[0], dtype=float), float(model.intercepts_[1])
        self._arrays = {"W1": W1, "b1": b1, "w2": w2, "b2": b2, "W1w2": W1 * w2, "b1w2": b1 * w2}
        self._W1, self._b1, self._w2 = W1.tolist(), b1.tolist(), w2.tolist()
        self._W1w2, self._b1w2, self._b2 = (W1 * w2).tolist(), (b1 * w2).tolist(), b2
        params = PARAMETERS[strategy]
        self.range_limit = 2.0 ** (params["coeff_mod_bit_sizes"][0] - params["scale_bits"] - 1)
        self.input_bound = self._solve_input_bound()
        self._cached: tuple[bytes, object] | None = None

    # -- the range guarantee --------------------------------------------------------
    def worst_case(self, bound: float) -> float:
        """The largest magnitude any slot can reach when every input satisfies ``|x| <= bound``.

        Every slot of ``x W`` (junk slots included) is a sum of ``n`` products
        of an input with a weight, so ``|slot| <= n * bound * max|W| + max|b|``.
        ``"fold"``: the slot products ``z u`` and the slot sums of ``hidden`` of
        them (plus ``|b2|``); ``"square"``: ``z²·w2`` and its sums.  The
        largest of these at the last level is returned.
        """
        a, n = self._arrays, self.n_features
        h = len(a["b1"])
        z = n * bound * np.abs(a["W1"]).max() + np.abs(a["b1"]).max()
        if self.strategy == "fold":
            u = n * bound * np.abs(a["W1w2"]).max() + np.abs(a["b1w2"]).max()
            product = z * u
        else:
            product = z * z * np.abs(a["w2"]).max()
        return float(max(product, h * product + abs(a["b2"])))

    def _solve_input_bound(self) -> float:
        target = self.range_limit / RANGE_MARGIN
        if self.worst_case(0.0) > target:
            raise ValueError("the model's biases alone exceed the CKKS range: retrain with a larger l2")
        lo, hi = 0.0, VALUE_BOUND
        if self.worst_case(hi) <= target:
            return hi
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if self.worst_case(mid) <= target else (lo, mid)
        return math.floor(lo * 10) / 10  # one decimal, rounded down

    def public_spec(self) -> dict:
        """What the client needs (and may know): feature order, standardisation, input bound, parameters."""
        return {"features": self.features, "mean": self.model.mean_.tolist(),
                "scale": self.model.scale_.tolist(), "input_bound": self.input_bound,
                "strategy": self.strategy, "parameters": dict(PARAMETERS[self.strategy])}

    @property
    def required_levels(self) -> int:
        """Rescalings the strategy consumes (2 for ``"fold"``, 3 for ``"square"``)."""
        return LEVELS[self.strategy]

    # -- protocol ---------------------------------------------------------------------
    def load_context(self, public_context: bytes):
        """Parse and check a public context (cached: the same bytes are parsed once).

        Raises
        ------
        MalformedMessageError
            The bytes are not a TenSEAL context.
        ProtocolError
            The context carries a **secret key** (refused: the server must never
            receive one), lacks Galois or relinearisation keys, or does not
            have the strategy's levels and first prime.
        """
        if self._cached is not None and (public_context is self._cached[0]
                                         or public_context == self._cached[0]):
            return self._cached[1]
        if not isinstance(public_context, (bytes, bytearray)):
            raise MalformedMessageError("the public context must be bytes, got "
                                        f"{type(public_context).__name__}")
        try:
            ctx = ts.context_from(bytes(public_context))
        except (ValueError, RuntimeError, TypeError) as exc:
            raise MalformedMessageError(f"the public context cannot be parsed ({exc})") from exc
        if ctx.has_secret_key() or not ctx.is_public():
            raise ProtocolError("refused: the context sent to the server carries the SECRET KEY, which "
                                "would let the server decrypt the patient's record; the client must send "
                                "CKKSClient.public_context() (serialize(save_secret_key=False))")
        if not ctx.has_galois_keys():
            raise ProtocolError("the public context has no Galois keys: the vector-matrix product and "
                                "the slot sum need rotations (call generate_galois_keys() before "
                                "serialising)")
        if not ctx.has_relin_keys():
            raise ProtocolError("the public context has no relinearisation keys (needed after a "
                                "ciphertext-by-ciphertext product)")
        data = ctx.seal_context().data
        levels = data.first_context_data().chain_index()
        first_bits = data.last_context_data().total_coeff_modulus_bit_count()
        params = PARAMETERS[self.strategy]
        if levels < self.required_levels or first_bits < params["coeff_mod_bit_sizes"][0] \
                or ctx.global_scale != 2.0 ** params["scale_bits"]:
            raise ProtocolError(f"strategy {self.strategy!r} needs {self.required_levels} levels, a first "
                                f"prime of {params['coeff_mod_bit_sizes'][0]} bits and scale "
                                f"2^{params['scale_bits']}; this context has {levels} levels, a "
                                f"{first_bits}-bit first prime and scale {ctx.global_scale:g}: use "
                                f"CKKSClient.for_strategy({self.strategy!r})")
        self._cached = (bytes(public_context), ctx)
        return ctx

    def evaluate(self, public_context: bytes, encrypted_record: bytes) -> bytes:
        """The encrypted score of an encrypted (standardised) record, serialised: one CKKS ciphertext.

        Raises
        ------
        MalformedMessageError
            The query is not a CKKS vector under this context's parameters, or
            does not hold one value per model feature.
        ProtocolError
            See :meth:`load_context`.
        """
        ctx = self.load_context(public_context)
        try:
            x = ts.ckks_vector_from(ctx, encrypted_record)
        except (ValueError, RuntimeError, TypeError) as exc:
            raise MalformedMessageError(f"the query is not a CKKS vector under this public context "
                                        f"(encrypted with other parameters?): {exc}") from exc
        if x.size() != self.n_features:
            raise MalformedMessageError(f"the encrypted record holds {x.size()} values, the model "
                                        f"expects {self.n_features} features"
                                        + (f" in the order {self.features}" if self.features else ""))
        if self.strategy == "fold":
            z = x.matmul(self._W1) + self._b1          # level 1
            u = x.matmul(self._W1w2) + self._b1w2      # level 1
            score = z.dot(u) + self._b2                # level 2: one ciphertext product, then rotations
        else:
            z = x.matmul(self._W1) + self._b1          # level 1
            h = z.square()                             # level 2
            score = h.dot(self._w2) + self._b2         # level 3
        return score.serialize()

