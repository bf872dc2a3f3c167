"""What a curious client learns about the server's model: the attack suite (notebooks 04, 06, 10).

The client of :mod:`encmed_lib.protocol` holds the private key and chooses its
own queries.  For every internal node :math:`j` (feature :math:`f`, threshold
:math:`t_j`) basic mode returns

.. math::  v_j = r_j\\,d_j + s_j, \\qquad d_j = T_j - X_f,
           \\quad T_j = \\lfloor t_j 2^{26} \\rfloor,
           \\quad X_f = \\lfloor \\mathrm{float32}(x_f)\\,2^{26} \\rfloor

with the server's fresh blinds :math:`1 \\le r_j < 2^{21}`, :math:`0 \\le s_j < r_j`.
Every attack uses only what such a client has: its :class:`~encmed_lib.Client`,
the records it chose, the replies, public knowledge (scikit-learn's way of
choosing thresholds, a public sample) and a server it can only call
(``oracle(query) -> reply``).  The true thresholds are read by the scoring
helpers alone (:mod:`.common`).  One module per idea:

* :mod:`.unblinded`: subtraction, :math:`T = v + X`; the original design
  (``blinding="none"``): every threshold, 1 query.
* :mod:`.divisor`: :math:`d \\mid v` over the public candidates
  (:mod:`.candidates`); ``blinding="multiplicative"``: 1 chosen query.
* :mod:`.sieve`: **the one-query sieve**; an edge record makes
  :math:`d \\approx 2^{42} \\gg r`, so :math:`r = \\lfloor v/d \\rfloor`; the
  protocol (``blinding="full"``): every threshold exactly, **1 query**.
* :mod:`.lattice`: approximate common divisor by LLL; the protocol with no
  candidate grid: 3 queries (4 in 14 runs out of 40, 5 in 1).
* :mod:`.out_of_domain`: :math:`E(-K)`, :math:`K = 2^{wm}` splits each pack
  into values and blinds; thresholds and blinds, 1 query (a ~3,000-bit key).
* :mod:`.malformed`: planted randomisers under :math:`n = Pq`,
  :math:`P \\mid q - 1`; ``LinearServer(output="noisy")``: exact weights,
  1 query; the tree: thresholds and blinds, 1 query; :func:`key_probe`: which
  malformed moduli a server accepts.
* :mod:`.dos`: oversized keys; the server's CPU per query.
* :mod:`.interval`: bisection on signs only; what remains against any design
  that returns one sign per node.

Each attack returns what it recovered (:class:`ThresholdRecovery`,
:class:`WeightRecovery` or a :class:`pandas.DataFrame`).  Those that send
unusual keys or plaintexts (out-of-domain, malformed, DoS) report
``status="refused"`` instead of raising when the server refuses the query with
an :class:`~encmed_lib.errors.EncmedError`: the same call then shows a defence.
"""

from .candidates import grid_candidates, sklearn_midpoint
from .common import (
    R_BOUND,
    Candidate,
    Oracle,
    ThresholdRecovery,
    WeightRecovery,
    identify_feature,
    threshold_errors,
    threshold_recovery_rate,
    true_thresholds,
)
from .divisor import divisor_attack, intersect_survivors, off_grid_record, true_among_survivors
from .dos import dos_probe, oversized_query
from .figures import plot_interval_attack, plot_sieve
from .interval import IntervalAttackResult, attack_errors, interval_attack, sign_and_magnitude
from .lattice import common_divisor_candidates, lattice_attack, lll_reduce
from .malformed import (
    MalformedKey,
    key_probe,
    malformed_modulus_linear,
    malformed_modulus_tree,
)
from .out_of_domain import (
    attacker_client,
    out_of_domain_linear,
    out_of_domain_split,
    raw_query,
    split_key_bits,
)
from .sieve import edge_record, fits, sieve, sieve_attack, sieve_slack
from .unblinded import recover_thresholds_unblinded

__all__ = [
    "recover_thresholds_unblinded", "threshold_errors", "threshold_recovery_rate",
    "grid_candidates", "sklearn_midpoint", "off_grid_record", "divisor_attack",
    "intersect_survivors", "true_among_survivors",
    "sign_and_magnitude", "IntervalAttackResult", "interval_attack", "attack_errors",
    "plot_interval_attack", "true_thresholds",
    "R_BOUND", "Oracle", "Candidate", "ThresholdRecovery", "identify_feature",
    "edge_record", "fits", "sieve", "sieve_attack", "sieve_slack", "plot_sieve",
    "lll_reduce", "common_divisor_candidates", "lattice_attack",
    "attacker_client", "split_key_bits", "raw_query", "out_of_domain_split", "out_of_domain_linear",
    "MalformedKey", "WeightRecovery", "malformed_modulus_linear", "malformed_modulus_tree", "key_probe",
    "dos_probe", "oversized_query",
]

# Against label-only mode (DGK comparisons): every attack above, refused; what remains is the label.
from .label_only import (  # noqa: E402
    flipped_answers,
    malformed_dgk_keys,
    non_bit_messages,
    out_of_domain_codes,
    replayed_messages,
    sieve_material,
    view_distinguisher,
)
from .path_finding import LabelBoundaryResult, label_boundary_attack, label_boundary_curve  # noqa: E402

__all__ += [
    "sieve_material", "non_bit_messages", "flipped_answers", "out_of_domain_codes", "malformed_dgk_keys",
    "replayed_messages", "view_distinguisher", "LabelBoundaryResult", "label_boundary_attack",
    "label_boundary_curve",
]
