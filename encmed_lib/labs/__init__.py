"""Labs: the exercises at the end of notebooks 01-10, their checkers, and the student versions.

Every notebook ends with an **Exercises** section.  Each exercise is three cells:

1. a Markdown cell stating the task;
2. a code cell whose solution sits between nbgrader-style markers and assigns
   the answer to a variable named after it::

       record_ex = X_test.iloc[5]          # given: stays in the student version
       ### BEGIN SOLUTION
       recovered_threshold = ...           # removed from the student version
       ### END SOLUTION

3. a checking cell that calls one function of this package::

       print(labs.check_04_recovered_threshold(recovered_threshold, server_none, slot=1))

A checker recomputes the right answer from its inputs (or from the bundled data,
through the library), returns a short success message (``"✓ correct: ..."``)
and otherwise raises :class:`LabCheckError`: what was expected, what was
received, a hint, and the notebook section to reread.  It never reveals the
answer itself.

The **student version** of every notebook replaces each solution by
``raise NotImplementedError("Exercise: write your solution here")`` (at the
indentation of the ``### BEGIN SOLUTION`` line), replaces Markdown between
``<!-- BEGIN SOLUTION -->`` and ``<!-- END SOLUTION -->`` by
``*Your answer here.*``, and clears every output::

    python -m encmed_lib.labs students                # notebooks/NN_*.ipynb -> students/
    python -m encmed_lib.labs students --dest DIR

Until an exercise is solved its checking cell fails (``NameError``: the answer
variable does not exist yet), and the cells before the exercises run as in the
course.  The generator is deterministic: the same notebooks give the same bytes.

The package, one module per idea:

* :mod:`.core`: :class:`LabCheckError`, reading an answer, the course's cached data;
* :mod:`.nb01` ... :mod:`.nb10`: the checkers of each notebook's exercises;
* :mod:`.students`: the student-version generator (``python -m encmed_lib.labs``).

Adding an exercise: see ``docs/architecture.md`` ("Add an exercise").
"""

from __future__ import annotations

from .core import (
    LabCheckError,
    LabFormatError,
)
from .nb01 import (
    check_01_input_audit,
    check_01_lipid_panels,
    check_01_smd,
)
from .nb02 import (
    check_02_best_split,
    check_02_cv_depth,
    check_02_roundtrip_agreement,
)
from .nb03 import (
    check_03_encrypted_difference,
    check_03_signed_encoding,
    check_03_toy_paillier,
)
from .nb04 import (
    check_04_blinded_value,
    check_04_pack_count,
    check_04_recovered_threshold,
)
from .nb05 import (
    check_05_agreement,
    check_05_disease_share,
    check_05_leaf,
)
from .nb06 import (
    check_06_comparison_values,
    check_06_path_costs,
    check_06_public_depth,
    check_06_shared_bits,
)
from .nb07 import (
    check_07_clinic_threshold,
    check_07_model_from_probabilities,
    check_07_query_ciphertexts,
    check_07_server_by_hand,
)
from .nb08 import (
    check_08_count_table,
    check_08_inferred_count,
    check_08_lightest_backend,
    check_08_secret_sharing,
)
from .nb09 import (
    check_09_budget_for_noise,
    check_09_discrete_laplace,
    check_09_level_sensitivity,
    check_09_membership_experiment,
)
from .nb10 import (
    check_10_extraction_protocols,
    check_10_label_only_query_ratio,
    check_10_phase_shares,
    check_10_privacy_row,
)
from .students import (
    MARKDOWN_BEGIN,
    MARKDOWN_END,
    MARKDOWN_STUB,
    SOLUTION_BEGIN,
    SOLUTION_END,
    STUB,
    main,
    make_student_versions,
    strip_code_solution,
    strip_markdown_solution,
    student_notebook,
)

__all__ = [
    "LabCheckError", "LabFormatError", "make_student_versions", "student_notebook",
    "strip_code_solution", "strip_markdown_solution", "STUB", "MARKDOWN_STUB", "main",
    "SOLUTION_BEGIN", "SOLUTION_END", "MARKDOWN_BEGIN", "MARKDOWN_END",
    "check_01_smd", "check_01_input_audit", "check_01_lipid_panels",
    "check_02_best_split", "check_02_cv_depth", "check_02_roundtrip_agreement",
    "check_03_toy_paillier", "check_03_encrypted_difference", "check_03_signed_encoding",
    "check_04_recovered_threshold", "check_04_blinded_value", "check_04_pack_count",
    "check_05_agreement", "check_05_leaf", "check_05_disease_share",
    "check_06_public_depth", "check_06_comparison_values", "check_06_shared_bits",
    "check_06_path_costs",
    "check_07_clinic_threshold", "check_07_server_by_hand", "check_07_model_from_probabilities",
    "check_07_query_ciphertexts",
    "check_08_count_table", "check_08_secret_sharing", "check_08_inferred_count", "check_08_lightest_backend",
    "check_09_discrete_laplace", "check_09_level_sensitivity", "check_09_budget_for_noise",
    "check_09_membership_experiment",
    "check_10_extraction_protocols", "check_10_label_only_query_ratio", "check_10_phase_shares",
    "check_10_privacy_row",
]
