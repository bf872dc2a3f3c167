"""Repository-wide pytest set-up (unit tests and nbval notebooks alike).

Test runs write figures to a temporary folder (``ENCMED_FIGURES``), inherited by
the notebook kernels nbval starts, so running the tests never rewrites the
committed ``figures/``; ``make course`` regenerates those.
"""

import os
import tempfile


def pytest_configure(config):
    if "ENCMED_FIGURES" not in os.environ:
        os.environ["ENCMED_FIGURES"] = tempfile.mkdtemp(prefix="encmed-figures-")
