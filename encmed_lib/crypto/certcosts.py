"""What the DGK comparison layer and the Paillier key certificate cost, per operation.

:func:`time_certified_operations` times, for one key size, the median wall time
(as :mod:`encmed_lib.crypto.costs` does: batches for fast operations, the
median of ``repeats`` samples) of:

* **DGK keygen** (client, once): primes :math:`u`, :math:`p = 2ua + 1`, :math:`q`;
* **DGK encrypt (client, CRT)** and **DGK encrypt (public key)**: :math:`g^m w^u`;
* **DGK randomiser w^u (server)**: what the server draws for every blinded value;
* **DGK blind (server)**: :math:`c^r w^u`, :math:`r` uniform in :math:`[1, u)`;
* **DGK is_zero (client)**: one exponentiation modulo :math:`p` by :math:`(p-1)/u`;
* **DGK bit + proof (client, CRT)** and **DGK bit verify (server)**;
* **Paillier key proof (client)** and **Paillier key verify (server)**: the
  certificate of :mod:`encmed_lib.crypto.keycert` (GRSB part and two-prime
  part), the same for the **GRSB part only**, and
  **Paillier check_modulus (server)**, its structural pre-checks;
* **phe encrypt (scale)**: one python-paillier encryption under a key of the
  same size, for comparison.

Run ``python -m encmed_lib.crypto.certcosts [key_bits]`` to print them.
"""

from __future__ import annotations

import secrets
import sys

from . import dgk, keycert
from .costs import call_ms
from .paillier import generate_keypair


def time_certified_operations(key_bits: int = 2048, repeats: int = 15) -> dict[str, float]:
    """Median milliseconds per operation at ``key_bits`` bits (see the module docstring).

    Parameters
    ----------
    key_bits : int
        Size of the DGK and Paillier moduli.
    repeats : int
        Timed samples per operation (key generation and the full key proof and
        verification: ``max(3, repeats // 3)``).

    Returns
    -------
    dict
        Operation name -> median ms.
    """
    pk, sk = dgk.generate_dgk_keypair(key_bits)
    c1 = sk.encrypt(1)
    c, proof = dgk.encrypt_bit_with_proof(sk, 1, b"bench/0")
    paillier = generate_keypair(key_bits)
    n = paillier.public_key.n
    cert = keycert.prove_paillier_key(paillier.private_key)
    grsb = keycert.prove_paillier_key(paillier.private_key, two_primes=False)
    few = max(3, repeats // 3)
    phe_public = paillier.public_key.to_phe()
    out = {
        "DGK keygen": call_ms(lambda: dgk.generate_dgk_keypair(key_bits), few, batch=False),
        "DGK encrypt (client, CRT)": call_ms(lambda: sk.encrypt(secrets.randbelow(1 << 16)), repeats),
        "DGK encrypt (public key)": call_ms(lambda: pk.encrypt(secrets.randbelow(1 << 16)), repeats),
        "DGK randomiser w^u (server)": call_ms(pk.randomiser, repeats),
        "DGK blind (server)": call_ms(lambda: pk.blind(c1), repeats),
        "DGK is_zero (client)": call_ms(lambda: sk.is_zero(c1), repeats),
        "DGK bit + proof (client, CRT)": call_ms(lambda: dgk.encrypt_bit_with_proof(sk, 1, b"b"), repeats),
        "DGK bit + proof (public key)": call_ms(lambda: dgk.encrypt_bit_with_proof(pk, 1, b"b"), repeats),
        "DGK bit verify (server)": call_ms(lambda: dgk.verify_bit(pk, c, proof, b"bench/0"), repeats),
        "Paillier key proof (client)": call_ms(lambda: keycert.prove_paillier_key(paillier.private_key),
                                                  few, batch=False),
        "Paillier key proof, GRSB only (client)": call_ms(
            lambda: keycert.prove_paillier_key(paillier.private_key, two_primes=False), repeats),
        "Paillier check_modulus (server)": call_ms(lambda: keycert.check_modulus(n), repeats),
        "Paillier key verify (server)": call_ms(lambda: keycert.verify_paillier_key(n, cert), few),
        "Paillier key verify, GRSB only (server)": call_ms(
            lambda: keycert.verify_paillier_key(n, grsb, two_primes=False), repeats),
        "phe encrypt (scale)": call_ms(lambda: phe_public.encrypt(secrets.randbelow(1 << 16)), repeats),
    }
    return out


def main(argv: list[str] | None = None) -> None:
    """Print :func:`time_certified_operations` for the key size given on the command line (2048)."""
    argv = sys.argv[1:] if argv is None else argv
    key_bits = int(argv[0]) if argv else 2048
    for name, ms in time_certified_operations(key_bits).items():
        print(f"{name:40s} {ms:9.3f} ms")


if __name__ == "__main__":  # pragma: no cover
    main()
