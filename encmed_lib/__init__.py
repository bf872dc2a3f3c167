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
"""

from . import plots
from .data.heart import FEATURES, load_heart
from .data.synthea import load_synthea
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

__version__ = "0.1.0"

__all__ = [
    "FEATURES", "load_heart", "load_synthea", "train_tree", "split_data", "evaluate",
    "PortableTree", "draw_tree", "depth_curve", "plots", "TreeServer", "Client", "Query", "Reply",
    "LabelOnlyServer", "predict_label_only", "LinearServer", "score_encrypted",
    "EncmedError", "DataFormatError", "ProtocolError", "MalformedMessageError",
    "ProtocolVersionError", "MissingFeatureError", "DomainError", "CiphertextRangeError",
    "KeyMismatchError", "QueryMismatchError", "KeyTooSmallError", "ModelNotFittedError",
    "TransportError",
]
