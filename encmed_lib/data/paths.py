"""Where the course's files live.

The bundled data, the figures and the notebooks are found from the package's
location (``encmed_lib/..``), never from the current directory, so a notebook
run from any folder (or in Colab, after the first cell cloned the repository)
finds them.  ``ENCMED_DATA`` overrides the data folder.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def data_dir() -> Path:
    """The folder of bundled data (``$ENCMED_DATA`` or ``<repo>/data``)."""
    return Path(os.environ.get("ENCMED_DATA", REPO_ROOT / "data"))


def figures_dir() -> Path:
    """The folder figures are written to (``$ENCMED_FIGURES`` or ``<repo>/figures``), created if needed."""
    path = Path(os.environ.get("ENCMED_FIGURES", REPO_ROOT / "figures"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def save_figure(fig, name: str, *, dpi: int = 120) -> Path:
    """Save a matplotlib figure as ``figures/<name>`` (stable names: ``NN_what.png``) and return the path."""
    path = figures_dir() / name
    fig.savefig(path, dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    return path
