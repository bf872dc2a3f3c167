"""CKKS with TenSEAL: a small neural network evaluated on an encrypted patient.

Paillier adds encrypted integers and multiplies them by *plaintext* constants:
the server can compute a linear score, never a non-linearity.  This module
takes the next step with another scheme, CKKS (Cheon, Kim, Kim and Song,
2017), through `TenSEAL <https://github.com/OpenMined/TenSEAL>`_ (Microsoft
SEAL underneath): the server evaluates a one-hidden-layer network on a
CKKS-encrypted record, and only the client can decrypt the score.

CKKS in six points
------------------
**Vectors of reals, approximately.**  A CKKS plaintext is a vector of up to
:math:`N/2` real numbers (the *slots*; :math:`N` is the polynomial degree,
8192 here, so 4096 slots).  It is multiplied by a public *scale*
:math:`\\Delta = 2^{40}` and rounded into a polynomial with integer
coefficients; encryption adds a small random error.  Decryption therefore
returns :math:`x + e` with :math:`|e|` around :math:`10^{-7}`: CKKS is
*approximate* arithmetic on fixed-point numbers, by design.  Additions and
multiplications act slot by slot, on the whole vector at once.

**Levels.**  A ciphertext is a pair of polynomials modulo
:math:`Q = q_0 q_1 \\cdots q_L`, a product of primes (``coeff_mod_bit_sizes``
lists their sizes).  Multiplying two values at scale :math:`\\Delta` gives a
value at scale :math:`\\Delta^2`; *rescaling* divides it by one prime
:math:`q_i \\approx \\Delta` (hence the middle primes of 40 bits = the scale
bits) and drops that prime from :math:`Q`.  Each multiplication (by a
ciphertext *or* by a plaintext) consumes one level; with no prime left to
drop, no further multiplication is possible.  The first prime (60 bits) is
what remains at the end: a result must satisfy :math:`|v| \\Delta < q_0 / 2`,
i.e. :math:`|v| < 2^{60-40-1} = 2^{19}`, which a trained score (a few tens)
does by far.  The last prime (60 bits) is the *special prime*, used only for
key switching (relinearisation and rotations), never for data.

**Noise, and a drift.**  Every operation enlarges the random error a
little, rescaling adds a rounding error, and a product multiplies errors by
the values involved: around :math:`10^{-7}` here.  A larger, *systematic*
part comes from the primes: a rescaling prime must be :math:`\\equiv 1
\\pmod{2N}`, so it is close to, not equal to, :math:`2^{40}` (SEAL picks
:math:`2^{40} - 737\\,279` and :math:`2^{40} - 147\\,455` for the default
parameters), while TenSEAL resets the scale to exactly :math:`2^{40}` after
each rescaling.  The score (minus the last bias, added after the last
rescaling) comes out multiplied by about :math:`1 + 9.4 \\cdot 10^{-7}`
with the default parameters (:math:`1 + 9.6 \\cdot 10^{-6}` for
:data:`SQUARE_PARAMETERS`, whose 40-bit primes are further from
:math:`2^{40}`): a relative error, which we measured.  Both are far below
:data:`TOLERANCE` for real patients; the tests check it on three data sets
(column ``abs_error`` of :func:`evaluate_ckks`).

**Keys.**  The secret key decrypts.  The public key encrypts (the server
needs it only to create encryptions of zero inside TenSEAL's matrix
product).  *Relinearisation keys* shrink a ciphertext-by-ciphertext product
back to two polynomials.  *Galois keys* rotate the slots cyclically: TenSEAL's
vector-matrix product (the diagonal method of Halevi and Shoup: one rotation
per matrix row) and the sum of a vector's slots (``log2`` rotations) both
need them, so the server must receive them.  They are by far the largest
part of the public context (33.4 of its 35.3 MB with the default
parameters; the public key is 0.5 MB, the relinearisation keys 1.4 MB:
measure with :meth:`CKKSClient.context_sizes`), but they are sent once per
client key, not once per patient.

**Security.**  The hardness of Ring-LWE depends on :math:`N` and on the total
size of :math:`Q` (special prime included).  The Homomorphic Encryption
Security Standard (Albrecht et al., 2018) allows at most 218 bits for
:math:`N = 8192` and 438 bits for :math:`N = 16384` at 128-bit classical
security, and SEAL *refuses* parameters beyond these bounds.
:data:`CKKS_PARAMETERS` (:math:`N = 8192`, primes of 60, 40, 40, 60 bits:
200 bits, 2 levels) is within them; :data:`SQUARE_PARAMETERS` (:math:`N =
16384`, 60, 40, 40, 40, 60: 240 bits, 3 levels) too.  A 3-level chain
at :math:`N = 8192` (240 > 218 bits) is refused.

**Why a square activation.**  Encrypted, the server can only add and
multiply: it evaluates *polynomials*.  ReLU (:math:`\\max(0, z)`) and the
sigmoid are not polynomials; approximating them by a polynomial of high
degree costs many levels (a larger :math:`N`, larger and slower ciphertexts).
:math:`z^2` is a degree-2 polynomial: exactly one multiplication, no
approximation.  The final sigmoid is left to the client, after decryption
(it is monotone: probability 0.5 is score 0).

The network and the two evaluation orders
-----------------------------------------
:class:`SquareMLP` computes, for a record :math:`x` (standardised by the
client, see below),

.. math::  s(x) = \\sum_j w_{2j} \\, z_j^2 + b_2, \\qquad z = x W_1 + b_1.

The textbook evaluation (``strategy="square"``) is matmul, square, dot with
:math:`w_2`: three multiplications in a row, three levels, hence
:data:`SQUARE_PARAMETERS` (:math:`N = 16384`).  The default
(``strategy="fold"``) rewrites the same sum as

.. math::  s(x) = \\sum_j z_j \\, u_j + b_2 = z \\cdot u + b_2,
           \\qquad u = x \\, (W_1 \\operatorname{diag} w_2) + b_1 \\odot w_2,

a dot product of two encrypted vectors, both computed from :math:`x` by a
plaintext matrix product (level 1, side by side), then one ciphertext product
(level 2) and a sum of slots (rotations, no level).  Depth 2 instead of 3:
:math:`N = 8192` suffices, so ciphertexts are half as large, the context
about 3.5 times smaller, and evaluation faster.  Both orders compute the same
polynomial; only the errors differ, and both stay far below
:data:`TOLERANCE`.

Standardisation stays on the client, and why
--------------------------------------------
:class:`SquareMLP` is trained on standardised inputs
:math:`(x - \\mu) / \\sigma`.  The first layer being linear, the scaler could
be merged into it (:math:`W_1' = W_1 / \\sigma`) and the client could encrypt
raw clinical values.  **It breaks CKKS**, and the reason is worth knowing:
TenSEAL's vector-matrix product leaves *junk* in the slots beyond the
``hidden`` it returns (each holds a sum of :math:`n` products of some
:math:`x_r` with some *other* feature's weight), and the decoding of a CKKS
ciphertext mixes all slots: if *any* slot, junk included, exceeds the range
(:math:`|v| < 2^{19}` at the last level), every slot decrypts to garbage.
With the scaler folded in (an earlier version of this module did so), a raw
breast-cancer area (up to 4254) meets a weight meant for a feature whose
standard deviation is 0.003: we measured 7 of 30 test patients decrypting
to scores off by up to :math:`7 \\cdot 10^7`, with no error raised.

So the client standardises (the server publishes the feature order, the
means and the standard deviations in :meth:`CKKSServer.public_spec`: the
training data's first two moments, a small disclosure), and the server
*guarantees* the range: from its weights it computes the largest
``input_bound`` :math:`B` such that, whenever every standardised input
satisfies :math:`|x| \\le B`, every slot of every intermediate ciphertext,
junk included, stays below a quarter of the range (worst case: each slot of
:math:`xW` is a sum of :math:`n` products :math:`|x_r| |W_{r'j}|`).
:meth:`CKKSClient.encrypt` refuses a record beyond it (a value dozens of
standard deviations from the training mean: a unit error, most likely) with
a :class:`~encmed_lib.errors.DomainError` naming the feature.

Who holds what
--------------
* **Client** (hospital, patient side): the full context *with the secret
  key* and the server's public spec (feature order, means, standard
  deviations, input bound); it standardises and encrypts the record
  (:meth:`CKKSClient.encrypt`), decrypts the score
  (:meth:`CKKSClient.decrypt_score`) and applies the sigmoid.
* **Server** (model owner): the weights, in clear, and the *public* context
  (:meth:`CKKSClient.public_context`: public, relinearisation and Galois keys,
  no secret key; :class:`CKKSServer` refuses a context that carries one).  It
  sees one ciphertext per patient and returns one ciphertext; it learns
  nothing about the values (semantic security under Ring-LWE).
* The client learns the score, as with any prediction service.  It should
  keep the decrypted value to itself: for CKKS, revealing exact decryptions
  of ciphertexts to the party that computed them can leak the secret key
  (Li and Micciancio, 2021).

:func:`evaluate_ckks` runs the whole round trip per patient and measures
agreement, time and bytes;
:func:`encmed_lib.protocol.ckks_comparison.compare_with_paillier` sets the
costs side by side with the course's Paillier layer.

TenSEAL is a dependency of the course, but it has no wheel for every
platform: this module imports without it (:data:`TENSEAL_AVAILABLE` is then
False, :class:`SquareMLP` still works) and :func:`require_tenseal` raises a
one-line :class:`ImportError` before anything that needs it.

The package, one idea per module
--------------------------------
* :mod:`.params`: parameter sets, security bounds, :data:`TOLERANCE`, TenSEAL's availability;
* :mod:`.estimator`: :class:`SquareMLP`, trained in clear;
* :mod:`.client`: :class:`CKKSClient` (secret key, encrypt, decrypt);
* :mod:`.server`: :class:`CKKSServer` (public context, range guarantee, evaluation);
* :mod:`.experiments`: :func:`evaluate_ckks`, the measured round trip.
"""

from __future__ import annotations

from .client import CKKSClient
from .estimator import SquareMLP
from .experiments import RESULT_COLUMNS, evaluate_ckks
from .params import (
    CKKS_PARAMETERS,
    LEVELS,
    MAX_BITS_128,
    PARAMETERS,
    RANGE_MARGIN,
    RELATIVE_DRIFT,
    SQUARE_PARAMETERS,
    STRATEGIES,
    TENSEAL_AVAILABLE,
    TENSEAL_MISSING_MESSAGE,
    TOLERANCE,
    VALUE_BOUND,
    ckks_security_bits,
    require_tenseal,
)
from .server import CKKSServer

__all__ = [
    "TENSEAL_AVAILABLE", "TENSEAL_MISSING_MESSAGE", "require_tenseal", "TOLERANCE",
    "RELATIVE_DRIFT", "CKKS_PARAMETERS", "SQUARE_PARAMETERS", "PARAMETERS", "MAX_BITS_128", "VALUE_BOUND",
    "RANGE_MARGIN", "STRATEGIES", "LEVELS", "RESULT_COLUMNS",
    "ckks_security_bits", "SquareMLP", "CKKSClient", "CKKSServer", "evaluate_ckks",
]
