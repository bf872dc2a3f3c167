"""Encrypted logistic-regression scoring, and what the score gives away.

A fitted binary :class:`~sklearn.linear_model.LogisticRegression` predicts

.. math::  s(x) = w \\cdot x + b, \\qquad p(x) = \\sigma(s) = \\frac{1}{1 + e^{-s}},
           \\qquad \\hat y = [\\,s > 0\\,]

and Paillier computes exactly the first step on ciphertexts: :math:`E(X)^W =
E(WX)` and :math:`E(A)E(B) = E(A + B)` (:mod:`encmed_lib.crypto.paillier`).

The protocol (one round)
========================

1. The client encodes **every** feature of the record as a fixed-point integer
   :math:`X_i` (below) and sends :math:`E(X_i)` in a :class:`LinearQuery`
   (:func:`encrypt_float64`): the Query of the tree protocol plus one field,
   ``scale_bits``, so that neither server can mistake the other's encoding.
2. The server, which knows the integer weights :math:`W_i` and intercept
   :math:`B`, computes without decrypting anything

   .. math::  E(S) = \\prod_i E(X_i)^{W_i} \\cdot (1 + B\\,n) \\cdot \\rho^{\\,n},
              \\qquad S = \\sum_i W_i X_i + B

   (negative :math:`W_i` use :math:`E(X_i)^{-1}`; :math:`\\rho` is a fresh
   random unit, see *Why re-randomise* below) and returns the one ciphertext
   in a :class:`LinearReply` (:meth:`LinearServer.evaluate`).
3. The client decrypts :math:`S`, divides by :math:`2^{128}` and applies the
   sigmoid (:func:`decrypt_score`, :func:`predict_proba_encrypted`).

Fixed point for float64 (not the tree's float32 encoding)
=========================================================

The tree protocol casts inputs to float32, as scikit-learn's trees do; a
logistic regression computes in float64, so here every scale is larger:

* input :math:`X = \\mathrm{round}(x \\cdot 2^{64})` (:data:`INPUT_FRAC_BITS`),
  for :math:`|x| < 2^{20}` (the tree's domain).  A float64 of magnitude
  :math:`|x| \\in [2^k, 2^{k+1})` is a multiple of :math:`2^{k-52}`, so
  :math:`x \\cdot 2^{64}` is an integer, and the encoding **exact**, whenever
  :math:`|x| \\ge 2^{-12}` (and for 0); smaller inputs are rounded, with an
  error at most :math:`2^{-65} \\approx 2.7 \\cdot 10^{-20}`;
* weight :math:`W = \\mathrm{round}(w \\cdot 2^{64})` (:data:`WEIGHT_FRAC_BITS`),
  error :math:`|\\delta| \\le 2^{-65}`;
* intercept :math:`B = \\mathrm{round}(b \\cdot 2^{128})`, at the product's
  scale :data:`SCORE_FRAC_BITS`, error at most :math:`2^{-129}`.

:math:`S` is computed exactly (integers; the plaintext space is checked to hold
it) and decoded as :math:`\\hat s = S / 2^{128}`, a correctly rounded float64
division.  Writing :math:`W_i/2^{64} = w_i + \\delta_i` and
:math:`X_i/2^{64} = x_i + \\varepsilon_i`,
:math:`(w_i + \\delta_i)(x_i + \\varepsilon_i) - w_i x_i = w_i\\varepsilon_i +
x_i\\delta_i + \\delta_i\\varepsilon_i`, so (:func:`score_error_bound`)

.. math::  |\\hat s - s| \\le 2^{-65}\\sum_i (|w_i| + |x_i|) + d\\,2^{-130} + 2^{-129}
           + 2^{-53}\\,|s|.

For the course's data (:math:`\\sum_i |x_i| \\approx 10^3`) the first term is
about :math:`10^{-17}` and the last (float64's own rounding) dominates: the
encrypted score is as accurate as a float64 can be, better than scikit-learn's
own dot product.  Over the whole domain the bound is at most
:math:`d \\cdot 2^{-45} \\approx d \\cdot 3 \\cdot 10^{-14}` plus the relative
term (:func:`worst_case_score_error`, checked when a server is built).  As
:math:`|\\sigma'| \\le 1/4`, the probability moves by at most a quarter of
that: agreement with ``predict_proba`` within :math:`10^{-9}` is a wide
margin, and ``predict`` (:math:`s > 0`) agrees unless :math:`|s|` is below
about :math:`10^{-13}`, where float64 itself cannot decide the sign.

Cost: the client's work does not depend on the scale (:math:`E(X) = (1 + Xn)
\\rho`); the server raises each ciphertext to a ~64-bit power (cheap) and the
plaintext needs :math:`|S| < n/2`: about :math:`148 + \\log_2 d + \\log_2\\max|w|`
bits of the 1023 a 1024-bit key offers (checked: :class:`DomainError`).

Why re-randomise, and not with the client's :math:`h_s`
========================================================

Without a fresh factor the randomiser of :math:`E(S)` would be
:math:`\\prod_i \\rho_i^{W_i}`, made of the client's own randomisers: a client
who knows the factors of :math:`n` (it does) and chose its randomisers or its
primes (say :math:`p - 1` smooth) takes a discrete logarithm and reads every
:math:`W_i`: **the whole model from one query**.  Multiplying by
:math:`r^n` with :math:`r` uniform in :math:`\\mathbb{Z}_n^*` makes the
randomiser uniform, whatever the client did.  As in
:class:`~encmed_lib.protocol.server.TreeServer`, the server draws it itself
and never uses a DJN base from the client: the client would choose it
(:math:`h_s = 1` makes "re-randomising" a no-op) and, knowing the factors,
could also undo a short exponent.  So one full :math:`r^n` per reply: about
1 ms at 1024 bits and 10 ms at 2048, which :meth:`LinearServer.precompute`
draws before the patient arrives.  (A client who crafts a malformed modulus, with
:math:`\\gcd(n, \\varphi(n)) \\ne 1`, is outside this argument: a proof that
:math:`n` is well formed is out of the course's scope.)

What each protocol leaks (compare with the tree)
================================================

The server learns nothing about the values (semantic security): only the key
size and the feature names, as in the tree protocol.

The client learns far more than from a tree:

* **tree**: one sign per internal node (and the tree's shape and leaf labels);
  a curious client must *bisect*, a few dozen queries per threshold
  (:mod:`encmed_lib.attacks`);
* **linear, exact score**: :math:`\\hat s` is one linear equation in
  :math:`(w, b)`, exact to ~15 digits.  :math:`d + 1` records in general
  position recover :math:`w` and :math:`b` by solving a linear system; the
  chosen records :math:`x = 0` and :math:`x = e_i` even give the fixed-point
  integers :math:`B` and :math:`W_i` *exactly*.  Returning :math:`p` instead of
  :math:`s` changes nothing: :math:`s = \\log(p / (1 - p))`.  With the label
  alone (one bit per query) extraction needs a line search per direction.

:func:`extract_linear_model` and :func:`extraction_curve` measure it:
least squares on random records gives a relative error ~1e-15 from
:math:`d + 1` exact scores; a perturbed score slows it to
:math:`\\propto 1/\\sqrt{q}`.

Output perturbation, honestly
=============================

``LinearServer(output=...)`` offers three replies:

``"exact"``
    :math:`E(S)`.
``"noisy"`` (a real defence, enforced by the server)
    The server adds integer noise :math:`N` under encryption, :math:`E(S + N)`,
    before re-randomising; the client cannot remove it.  :math:`N` is a sum of
    12 uniform integers (Irwin-Hall, close to a Gaussian) of standard
    deviation ``noise_scale`` score units, drawn with :mod:`secrets` **at full
    fixed-point resolution**: noise made from a float (53 significant bits)
    would leave the low bits of :math:`S` untouched, and a client choosing
    tiny inputs could read :math:`W_i` from those bits.  It perturbs the
    patient's own probability too: that is the price.  It is not a
    differential-privacy mechanism (bounded noise, no privacy accounting).
``"rounded"`` (a policy, **not** a defence against a malicious client)
    Paillier cannot round: rounding is a comparison, which needs a
    comparison protocol (one more round, as in label-only mode).  The server
    returns :math:`E(S)` marked ``"rounded"`` and this library's
    :func:`decrypt_score` rounds to ``decimals``; a client that decrypts the
    ciphertext itself gets the exact score.  It exists to *measure* what a
    true rounding protocol would buy: in :func:`extraction_curve` the attacker
    sees rounded scores only.

What the curve does not show: the attacker also chooses the *size* of its
records.  Scaling a query by :math:`t` scales the signal, not the rounding or
the noise, so the error falls like :math:`1/t` (``input_scale`` in
:func:`extraction_curve`).  The server cannot refuse large inputs it cannot
see; bounding them needs range proofs from the client.

The package, one idea per module
================================

* :mod:`.fixed_point`: the float64 fixed point and its error bound;
* :mod:`.model`: the servable model, a scaler folded in (:func:`linear_parameters`);
* :mod:`.messages`: :class:`LinearQuery` and :class:`LinearReply`;
* :mod:`.server`: :class:`LinearServer`;
* :mod:`.client`: :func:`encrypt_float64`, :func:`decrypt_score` and the predictions;
* :mod:`.extraction`: the oracles, :func:`extract_linear_model`, :func:`extraction_curve`
  and its figure (matplotlib is imported when a figure is drawn).

Every public name is importable from ``encmed_lib.protocol.linear``.
"""

# Besides __all__, the names the single module had stay importable (``X as X``: an explicit re-export).
from .client import (
    decrypt_score,
    encrypt_float64,
    predict_encrypted,
    predict_proba_encrypted,
    score_encrypted,
)
from .extraction import Oracle as Oracle
from .extraction import (
    encrypted_oracle,
    extract_linear_model,
    extraction_curve,
    plaintext_oracle,
    plot_extraction_curve,
)
from .fixed_point import (
    INPUT_FRAC_BITS,
    SCORE_FRAC_BITS,
    SCORE_TOLERANCE,
    WEIGHT_FRAC_BITS,
    decode_score,
    encode_float64,
    encode_intercept,
    encode_weight,
    score_error_bound,
    worst_case_score_error,
)
from .fixed_point import X_BOUND as X_BOUND
from .fixed_point import fixed_point_score as fixed_point_score
from .messages import LINEAR_REPLY as LINEAR_REPLY
from .messages import MAX_NOISE_SCALE as MAX_NOISE_SCALE
from .messages import OUTPUTS, LinearQuery, LinearReply
from .model import fold_standard_scaler, linear_parameters
from .server import NOISE_TERMS as NOISE_TERMS
from .server import LinearServer

__all__ = [
    "INPUT_FRAC_BITS", "WEIGHT_FRAC_BITS", "SCORE_FRAC_BITS", "OUTPUTS", "SCORE_TOLERANCE",
    "encode_float64", "encode_weight", "encode_intercept", "decode_score",
    "score_error_bound", "worst_case_score_error", "fold_standard_scaler", "linear_parameters",
    "LinearQuery", "LinearReply", "LinearServer",
    "encrypt_float64", "decrypt_score", "predict_proba_encrypted", "predict_encrypted",
    "score_encrypted",
    "plaintext_oracle", "encrypted_oracle", "extract_linear_model", "extraction_curve",
    "plot_extraction_curve",
]
