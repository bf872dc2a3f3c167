"""encmed_lib: privacy-preserving medical prediction, the course's library.

The public face, in the order the course meets it::

    import encmed_lib as em
    X, y = em.load_heart()                          # data (synthetic sample by default)
    tree = em.train_tree(X, y, max_depth=4, random_state=0)
    server = em.TreeServer(tree)                    # holds the model
    client = em.Client(key_bits=2048)               # holds the patient and the private key
    query = client.encrypt(X.iloc[0])               # Paillier ciphertexts of every feature
    reply = server.evaluate(query)                  # blinded comparisons, computed blind
    label = client.decrypt(reply)                   # == tree.predict(X.iloc[[0]])[0]

Importing the package is light: only :mod:`encmed_lib.errors` is loaded. Every
other public name is resolved on first use by the module ``__getattr__`` below
(:pep:`562`, the lazy loading of SciPy's SPEC 1), so ``import encmed_lib`` loads
neither pandas, scikit-learn, matplotlib nor an optional back-end (TenSEAL,
Dask, s3fs, MPyC); ``em.load_heart`` loads the data floor, ``em.TreeServer`` the
protocol floor, ``em.plots`` the plotting package, each once.  The floors and
what each may import are in ``docs/architecture.md``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from .errors import (
    CiphertextRangeError,
    DataFormatError,
    DomainError,
    EncmedError,
    KeyMismatchError,
    KeyTooSmallError,
    MalformedMessageError,
    MissingFeatureError,
    ModelNotFittedError,
    ProtocolError,
    ProtocolVersionError,
    QueryMismatchError,
    TransportError,
)

__version__ = "0.1.0"

#: Where each lazily loaded public name lives: ``name -> module`` (a module itself when the
#: name is a subpackage, e.g. ``plots``).
_LAZY: dict[str, str] = {
    "FEATURES": ".data.heart", "load_heart": ".data.heart", "load_synthea": ".data.synthea",
    "PortableTree": ".tree", "depth_curve": ".tree", "draw_tree": ".tree", "evaluate": ".tree",
    "split_data": ".tree", "train_tree": ".tree",
    "Client": ".protocol", "LabelOnlyServer": ".protocol", "LinearServer": ".protocol",
    "Query": ".protocol", "Reply": ".protocol", "TreeServer": ".protocol",
    "predict_label_only": ".protocol", "score_encrypted": ".protocol",
}
_SUBMODULES = ("attacks", "bench", "course", "crypto", "data", "evaluation", "federated", "labs",
               "membership", "plots", "privacy", "protocol", "scale", "transport", "tree")

__all__ = [
    "FEATURES", "load_heart", "load_synthea", "train_tree", "split_data", "evaluate",
    "PortableTree", "draw_tree", "depth_curve", "plots", "TreeServer", "Client", "Query", "Reply",
    "LabelOnlyServer", "predict_label_only", "LinearServer", "score_encrypted",
    "EncmedError", "DataFormatError", "ProtocolError", "MalformedMessageError",
    "ProtocolVersionError", "MissingFeatureError", "DomainError", "CiphertextRangeError",
    "KeyMismatchError", "QueryMismatchError", "KeyTooSmallError", "ModelNotFittedError",
    "TransportError",
]


def __getattr__(name: str):
    """Load a public name, or a subpackage, on first access (:pep:`562`)."""
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f".{name}", __name__)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value  # cached: __getattr__ runs once per name
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__) | set(_SUBMODULES))


if TYPE_CHECKING:  # for type checkers and IDEs: the same names, imported eagerly
    from . import plots
    from .data.heart import FEATURES, load_heart
    from .data.synthea import load_synthea
    from .protocol import (
        Client,
        LabelOnlyServer,
        LinearServer,
        Query,
        Reply,
        TreeServer,
        predict_label_only,
        score_encrypted,
    )
    from .tree import PortableTree, depth_curve, draw_tree, evaluate, split_data, train_tree
