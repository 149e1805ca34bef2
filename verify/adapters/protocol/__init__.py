"""Adapters for users' own numpy code, one module per family's protocol (``docs/protocols.md``).

* :mod:`.regularisers` (``l1``, ``l2``): ``grad(w, lam)``, or any of ``penalty``, ``grad``, ``step``, ``prox_step``;
* :mod:`.initialisers` (``init-*``, ``relu-bias``): ``init(shape, rng) -> ndarray``;
* :mod:`.batchnorm`: ``BN(num_features, eps=..., momentum=...)`` with ``forward``/``backward``, or CS231n's functions;
* :mod:`.newton`: ``step(w, grad, hess, lr) -> new_w``;
* :mod:`.optimizers` (with the runs of :mod:`.optimizer_runs`): factories, classes, built objects, config functions
  and optimizers owning their parameters.

Each module's ``claim`` is the last entry of its family in :data:`verify.adapters.ADAPTERS`: the fallback, which
accepts any object (refusing one that fits no shape of the protocol, with the reason).
"""
