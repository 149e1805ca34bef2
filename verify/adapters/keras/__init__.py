"""Adapters for Keras 3 objects (optimizers, initializers, BatchNormalization).

Importing this package imports no third-party library: :mod:`._backend` chooses the backend Keras runs on
(jax by default, torch when ``VERIFY_KERAS_BACKEND=torch`` or when jax is absent) and configures it before
``keras`` is imported; the adapter modules import keras inside ``claim``, and only for a Keras object.
"""

from verify.adapters.keras._backend import (
    BACKENDS,
    OPTION,
    backend_name,
    chosen_backend,
    is_keras_object,
    prepare_environment,
    require_keras,
)

__all__ = ["BACKENDS", "OPTION", "backend_name", "chosen_backend", "is_keras_object", "prepare_environment",
           "require_keras"]
