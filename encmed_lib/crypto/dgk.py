"""A DGK-style cryptosystem whose plaintext group the *server* can trust, with bit proofs.

The scheme (Benaloh 1994; Damgård, Geisler and Krøigaard 2007, without their
short-exponent :math:`h`).  A prime :math:`u` of :data:`U_BITS` = 80 bits is the
plaintext modulus.  The client picks primes :math:`p = 2ua + 1` and :math:`q`
with :math:`u \\nmid q - 1`, sets :math:`n = pq` and picks :math:`g \\in
\\mathbb{Z}_n^*` with :math:`g^{(p-1)/u} \\not\\equiv 1 \\pmod p`.  A message
:math:`m \\in \\mathbb{Z}_u` is encrypted as

.. math::  E(m) = g^m\\, w^u \\bmod n, \\qquad w \\text{ uniform in } \\mathbb{Z}_n^*,

so that :math:`E(m_1)E(m_2) = E(m_1 + m_2)` and :math:`E(m)^k = E(km)`.  The
randomiser :math:`w^u` has an 80-bit exponent: cheap.  The key owner computes
the *class* :math:`c^{(p-1)/u} \\bmod p = G^m` with :math:`G = g^{(p-1)/u}
\\bmod p` of order :math:`u`: the class is 1 exactly when :math:`m \\equiv 0
\\pmod u` (:meth:`DGKPrivateKey.is_zero`), and small :math:`m` are read from a
table of :math:`G^m` (:meth:`DGKPrivateKey.decrypt_small`).  The client's own
privacy (semantic security of :math:`g^m w^u`) rests on the :math:`u`-th
residuosity assumption for an honestly generated key, as in Benaloh's scheme.

**Why the server may trust a key the client made.**  Let :math:`H_u` be the
subgroup of :math:`u`-th powers of :math:`\\mathbb{Z}_n^*`.  Every element
:math:`x` has a *class* :math:`[x] \\in \\mathbb{Z}_n^*/H_u`, a group in which
every element has order 1 or :math:`u` (as :math:`x^u \\in H_u`): a vector
space over :math:`\\mathbb{F}_u`, *whatever* :math:`n` is (for an honest key it
is a line, :math:`\\mathbb{Z}_u`; for :math:`u \\mid p-1` and :math:`u \\mid
q-1` it is a plane, and so on).  The server only ever combines (a) powers of
:math:`g` and (b) client ciphertexts that come with a *bit proof* (below),
whose classes are therefore :math:`0` or :math:`[g]`.  So every value it
computes lies on the line :math:`\\langle [g] \\rangle`, cyclic of prime order
:math:`u`.  Raising a ciphertext of class :math:`\\lambda [g]`,
:math:`\\lambda \\not\\equiv 0`, to a uniform :math:`r \\in [1, u)` and
multiplying by a uniform :math:`w^u` (:math:`w` uniform in
:math:`\\mathbb{Z}_n^*`, drawn by the server: :meth:`DGKPublicKey.blind`) gives
a uniform element of a uniform non-zero class of that line, while class 0 gives
a uniform element of :math:`H_u`.  The client thus learns only
:math:`[\\lambda \\equiv 0 \\bmod u]`, for *any* modulus.  No proof about the
key is needed; the server's public checks (:func:`check_dgk_public_key`) are:
:math:`u` a prime of exactly :data:`U_BITS` bits, :math:`g \\in [2, n)` with
:math:`\\gcd(g, n) = 1`, :math:`n` odd with a bit length in ``[min_bits,
max_bits]`` (a cap against denial of service), and every field a bounded
decimal string (its length checked before ``int()``).

**Bit proof** (an OR-proof of Cramer, Damgård and Schoenmakers 1994 over the
Guillou-Quisquater proof of a :math:`u`-th root).  To show that :math:`c`
encrypts 0 or 1, i.e. that :math:`Y_0 = c` or :math:`Y_1 = c g^{-1}` lies in
:math:`H_u`, knowing :math:`w` with :math:`w^u = Y_b`: the prover simulates
branch :math:`1-b` (:math:`c_{1-b}` uniform in :math:`[0, u)`, :math:`z_{1-b}`
uniform in :math:`\\mathbb{Z}_n^*`, :math:`a_{1-b} = z_{1-b}^u
Y_{1-b}^{-c_{1-b}}`), commits :math:`a_b = \\rho^u` for the real one, takes the
Fiat-Shamir challenge :math:`e = H(\\text{context}, \\text{key}, c, a_0, a_1)
\\bmod u`, sets :math:`c_b = e - c_{1-b} \\bmod u` and :math:`z_b = \\rho
w^{c_b}`.  The verifier recomputes :math:`a_i = z_i^u Y_i^{-c_i}` and checks
:math:`c_0 + c_1 \\equiv H(\\ldots) \\pmod u`.  *Special soundness*: two
accepting answers to the same :math:`(a_0, a_1)` with different challenges
differ in some :math:`c_i`, so :math:`Y_i^{\\delta} = (z_i / z_i')^u` with
:math:`\\delta = c_i - c_i' \\not\\equiv 0 \\pmod u`; as :math:`u` is prime,
:math:`\\alpha\\delta + \\beta u = 1` for some integers and :math:`Y_i =
((z_i/z_i')^{\\alpha} Y_i^{\\beta})^u \\in H_u`.  This uses only that the class
group has exponent :math:`u` (every non-zero class has prime order :math:`u`),
so it holds for dishonest keys too.  A cheating prover succeeds with
probability about :math:`Q/u` after :math:`Q` hash queries (80-bit
soundness); the proof is honest-verifier zero-knowledge.  The ``context``
bytes bind a proof to one query and one position, so it cannot be replayed.

All randomness (primes, :math:`g`, :math:`w`, :math:`\\rho`, blinds) comes from
:mod:`secrets`; nothing is seeded.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import NamedTuple

import gmpy2

from ..errors import DomainError, InvalidKeyError, InvalidProofError
from .dgk_keys import (
    DEFAULT_KEY_BITS,
    MAX_KEY_BITS,
    MAX_TABLE,
    MIN_KEY_BITS,
    U_BITS,
    DGKKeypair,
    DGKPrivateKey,
    DGKPublicKey,
    check_dgk_public_key,
    generate_dgk_keypair,
)
from .paillier import RandomiserPool
from .wire import int_bytes as _int_bytes
from .wire import is_integer, parse_decimal

__all__ = [
    "U_BITS", "MIN_KEY_BITS", "MAX_KEY_BITS", "DEFAULT_KEY_BITS", "MAX_TABLE", "DGKPublicKey",
    "DGKPrivateKey", "DGKKeypair", "RandomiserPool", "check_dgk_public_key", "generate_dgk_keypair",
    "BitProof", "prove_bit", "encrypt_bit_with_proof", "verify_bit", "verify_bits",
]


# ------------------------------------------------------------------- bit proofs
_PROOF_TAG = b"encmed/dgk-bit-proof/v1"


class BitProof(NamedTuple):
    """Proof that a DGK ciphertext encrypts 0 or 1: challenges :math:`c_0, c_1 \\in [0, u)`, responses
    :math:`z_0, z_1 \\in \\mathbb{Z}_n^*` (see the module docstring)."""

    c0: int
    c1: int
    z0: int
    z1: int

    def to_list(self) -> list[str]:
        """``[c0, c1, z0, z1]`` as decimal strings."""
        return [str(int(x)) for x in self]

    @classmethod
    def from_list(cls, data: object, public_key: DGKPublicKey) -> BitProof:
        """Parse ``[c0, c1, z0, z1]`` (decimal strings, lengths checked before ``int()``)."""
        if not isinstance(data, list | tuple) or len(data) != 4:
            raise InvalidProofError("a bit proof must be a list of 4 decimal strings [c0, c1, z0, z1]")
        c0, c1 = (parse_decimal(x, f"bit proof field {f}", U_BITS, InvalidProofError)
                  for f, x in zip(("c0", "c1"), data[:2], strict=True))
        z0, z1 = (parse_decimal(x, f"bit proof field {f}", public_key.bits, InvalidProofError)
                  for f, x in zip(("z0", "z1"), data[2:], strict=True))
        return cls(c0, c1, gmpy2.mpz(z0), gmpy2.mpz(z1))


def _key_parts(key: object) -> tuple[DGKPublicKey, DGKPublicKey | DGKPrivateKey]:
    """(the public key, the object doing the arithmetic: the private key's CRT when given one)."""
    if isinstance(key, DGKPrivateKey):
        return key.public_key, key
    if isinstance(key, DGKPublicKey):
        return key, key
    raise InvalidKeyError(f"expected a DGKPublicKey or DGKPrivateKey, got {type(key).__name__}")


def _check_context(context: object) -> None:
    if not isinstance(context, bytes):
        raise DomainError("a bit proof's context must be bytes (naming the query and the position), "
                          f"got {type(context).__name__}")


def _challenge(pk: DGKPublicKey, context: bytes, c, a0, a1) -> int:
    """Fiat-Shamir challenge :math:`H(\\text{context}, n, g, u, c, a_0, a_1) \\bmod u` (SHA-256,
    length-prefixed fields; the 256-bit digest reduced mod the 80-bit :math:`u` has bias below
    :math:`2^{-176}`)."""
    h = hashlib.sha256(_PROOF_TAG)
    for part in (context, *(_int_bytes(x) for x in (pk.n, pk.g, pk.u, c, a0, a1))):
        h.update(len(part).to_bytes(8, "big") + part)
    return int.from_bytes(h.digest(), "big") % int(pk.u)


def prove_bit(key: DGKPublicKey | DGKPrivateKey, c: int, bit: int, w: int, context: bytes) -> BitProof:
    """The OR-proof that ``c`` encrypts ``bit`` in {0, 1}, given the witness :math:`w` with
    :math:`c = g^{bit} w^u`.

    Parameters
    ----------
    key : DGKPublicKey or DGKPrivateKey
        The key; a private key makes the exponentiations by CRT (about 3 times faster).
    c : int
        The ciphertext.
    bit : int
        0 or 1, the plaintext.
    w : int
        The randomness: :math:`w^u = c\\, g^{-bit}`.  With a wrong witness the
        proof is still produced but does not verify.
    context : bytes
        Binds the proof to one query and position (hashed into the challenge).
    """
    pk, ar = _key_parts(key)
    _check_context(context)
    if not is_integer(bit) or bit not in (0, 1):
        raise DomainError(f"prove_bit: bit must be 0 or 1, got {bit!r}")
    n, u, bit, sim = pk.n, pk.u, int(bit), 1 - int(bit)
    c_inverse = gmpy2.invert(c, n)
    y_inverses = (c_inverse, pk.g * c_inverse % n)  # Y_0^-1 = c^-1, Y_1^-1 = g c^-1
    cs, zs, a = [0, 0], [gmpy2.mpz(0)] * 2, [gmpy2.mpz(0)] * 2
    cs[sim], zs[sim] = secrets.randbelow(int(u)), ar._unit()
    a[sim] = ar._pow(zs[sim], u) * ar._pow(y_inverses[sim], cs[sim]) % n
    rho = ar._unit()
    a[bit] = ar._pow(rho, u)
    e = _challenge(pk, context, c, a[0], a[1])
    cs[bit] = int((e - cs[sim]) % u)
    zs[bit] = rho * ar._pow(w, cs[bit]) % n
    return BitProof(cs[0], cs[1], zs[0], zs[1])


def encrypt_bit_with_proof(pk: DGKPublicKey | DGKPrivateKey, bit: int,
                           context: bytes) -> tuple[gmpy2.mpz, BitProof]:
    """Encrypt ``bit`` in {0, 1} as :math:`g^{bit} w^u` and prove it (:func:`prove_bit`).

    ``pk`` may be the private key: the client's CRT fast path.
    """
    public, ar = _key_parts(pk)
    if not is_integer(bit) or bit not in (0, 1):
        raise DomainError(f"encrypt_bit_with_proof: bit must be 0 or 1, got {bit!r}")
    w = ar._unit()
    c = ar._pow(w, public.u)
    if bit:
        c = c * public.g % public.n
    return c, prove_bit(pk, c, bit, w, context)


def _proof_fields(pk: DGKPublicKey, proof: object) -> BitProof:
    if isinstance(proof, list | tuple) and len(proof) == 4 and all(isinstance(x, str) for x in proof):
        proof = BitProof.from_list(proof, pk)
    if not isinstance(proof, list | tuple) or len(proof) != 4 or not all(is_integer(x) for x in proof):
        raise InvalidProofError("a bit proof must be four integers (c0, c1, z0, z1)")
    c0, c1, z0, z1 = proof
    if not (0 <= c0 < pk.u and 0 <= c1 < pk.u):
        raise InvalidProofError("bit proof challenges c0, c1 must be in [0, u)")
    if not (0 < z0 < pk.n and 0 < z1 < pk.n) or gmpy2.gcd(z0 * z1, pk.n) != 1:
        raise InvalidProofError("bit proof responses z0, z1 must be in (0, n) and coprime to n")
    return BitProof(int(c0), int(c1), gmpy2.mpz(z0), gmpy2.mpz(z1))


def verify_bit(pk: DGKPublicKey | DGKPrivateKey, c: object, proof: object, context: bytes) -> bool:
    """Check that ``c`` encrypts 0 or 1: returns True, or raises :class:`InvalidProofError`.

    Recomputes :math:`a_i = z_i^u Y_i^{-c_i}` (:math:`Y_0 = c`, :math:`Y_1 = c g^{-1}`)
    and checks :math:`c_0 + c_1 \\equiv H(\\text{context}, \\text{key}, c, a_0, a_1) \\pmod u`:
    four exponentiations with 80-bit exponents and one inversion.

    Parameters
    ----------
    pk : DGKPublicKey
        The (checked) client key.
    c : int
        The ciphertext, which must be in :math:`\\mathbb{Z}_n^*`.
    proof : BitProof or sequence
        ``(c0, c1, z0, z1)`` as integers, or as the decimal strings of :meth:`BitProof.to_list`.
    context : bytes
        The same bytes the prover used (query id and position).
    """
    pk, _ = _key_parts(pk)
    _check_context(context)
    if not is_integer(c) or not 0 < c < pk.n or gmpy2.gcd(c, pk.n) != 1:
        raise InvalidProofError("the ciphertext of a bit proof must be an integer in (0, n) coprime to n")
    c0, c1, z0, z1 = _proof_fields(pk, proof)
    n, u = pk.n, pk.u
    c_inverse = gmpy2.invert(c, n)
    a0 = gmpy2.powmod(z0, u, n) * gmpy2.powmod(c_inverse, c0, n) % n
    a1 = gmpy2.powmod(z1, u, n) * gmpy2.powmod(pk.g * c_inverse % n, c1, n) % n
    if (c0 + c1) % u != _challenge(pk, context, c, a0, a1):
        raise InvalidProofError("the bit proof does not verify: the ciphertext is not shown to encrypt "
                                "0 or 1 under this key and context")
    return True


def verify_bits(pk: DGKPublicKey | DGKPrivateKey, cts: list, proofs: list, contexts: list) -> bool:
    """:func:`verify_bit` for each ``(c, proof, context)``; the error names the first failing position."""
    if not len(cts) == len(proofs) == len(contexts):
        raise InvalidProofError(f"verify_bits: {len(cts)} ciphertexts, {len(proofs)} proofs and "
                                f"{len(contexts)} contexts: the three lists must have the same length")
    for i, (c, proof, context) in enumerate(zip(cts, proofs, contexts, strict=True)):
        try:
            verify_bit(pk, c, proof, context)
        except InvalidProofError as exc:
            raise InvalidProofError(f"bit {i}: {exc}") from exc
    return True
