"""The built-in modes, each a thin adapter over its protocol's classes, registered on import.

One module per mode, each ending with its one :func:`~encmed_lib.protocol.base.register` line:

* :mod:`.basic`: :class:`~encmed_lib.protocol.server.TreeServer` and
  :class:`~encmed_lib.protocol.client.Client` (one round, one sign per node);
* :mod:`.label_only`: :class:`~encmed_lib.protocol.label_only.LabelOnlyServer` (DGK
  comparisons, two rounds: the client learns the label only);
* :mod:`.linear`: :class:`~encmed_lib.protocol.linear.LinearServer` (a logistic regression's score);
* :mod:`.ckks`: :class:`~encmed_lib.crypto.ckks.CKKSServer` (a square-activation network, TenSEAL).

The order of the imports below is the order of :data:`~encmed_lib.protocol.base.REGISTRY`,
hence of the benchmark's and the evaluation's tables.
"""

from . import basic, label_only, linear, ckks  # noqa: F401, I001 (registration order)
