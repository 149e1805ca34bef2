"""The Keras adapters: the backend chosen and configured before keras is imported.

Keras holds one backend per process, so everything that imports keras runs in a subprocess here.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import importlib.util

import pytest

# keras is never imported in this process (importing it fixes the process's backend).
pytestmark = [pytest.mark.keras,
              pytest.mark.skipif(importlib.util.find_spec("keras") is None, reason="keras is not installed")]

ROOT = Path(__file__).resolve().parent.parent


def run_python(code: str, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k not in ("KERAS_BACKEND", "VERIFY_KERAS_BACKEND")}
    environ.update(env)
    environ["PYTHONPATH"] = str(ROOT) + os.pathsep + environ.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          env=environ, timeout=300)


BACKEND_PROBE = """
    from verify.targets import load_target
    Adam = load_target("keras.optimizers.Adam")          # imports keras: the backend is fixed here
    from verify.adapters.keras import require_keras
    keras = require_keras()
    import numpy as np
    v = keras.Variable(np.array([1.0, 2.0]))
    opt = Adam(learning_rate=0.1)
    print(keras.backend.backend(), keras.config.floatx(), v.value.dtype, np.asarray(opt.learning_rate).dtype)
"""


@pytest.mark.slow
@pytest.mark.parametrize("env, backend", [({}, "jax"), ({"VERIFY_KERAS_BACKEND": "torch"}, "torch"),
                                          ({"KERAS_BACKEND": "torch"}, "torch"),
                                          ({"KERAS_BACKEND": "tensorflow"}, "jax"),
                                          ({"KERAS_BACKEND": "torch", "VERIFY_KERAS_BACKEND": "jax"}, "jax")])
def test_backend_chosen_before_keras_is_imported_and_float64(env, backend):
    proc = run_python(BACKEND_PROBE, **env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    name, floatx, dtype, lr_dtype = proc.stdout.split()
    assert (name, floatx, lr_dtype) == (backend, "float64", "float64")
    assert dtype.endswith("float64")      # jax: float64 (x64 on); torch: torch.float64


def test_unknown_backend_option_is_one_line():
    proc = run_python("""
        from verify.adapters.keras import require_keras
        from verify.errors import TargetLoadError
        try:
            require_keras()
        except TargetLoadError as exc:
            print(exc)
    """, VERIFY_KERAS_BACKEND="tensorflow")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == ("VERIFY_KERAS_BACKEND='tensorflow' is not a backend the verifier drives Keras "
                                   "on (one of jax, torch)")


@pytest.mark.slow
def test_keras_imported_with_another_backend_is_refused():
    proc = run_python("""
        import os
        os.environ["KERAS_BACKEND"] = "torch"
        import keras
        os.environ["VERIFY_KERAS_BACKEND"] = "jax"
        from verify.adapters.keras import require_keras
        from verify.errors import TargetLoadError
        try:
            require_keras()
        except TargetLoadError as exc:
            print(exc)
    """)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == ("keras was already imported with the torch backend, not jax "
                                   "(VERIFY_KERAS_BACKEND/KERAS_BACKEND); one process holds one Keras backend")


def test_missing_keras_names_the_extra():
    # A keras that cannot be found (its package shadowed by None in sys.modules would import-fail later;
    # find_spec is what require_keras asks, so hide it from the path).
    proc = run_python("""
        import importlib.util, sys
        real = importlib.util.find_spec
        importlib.util.find_spec = lambda name, *a: None if name == "keras" else real(name, *a)
        from verify.adapters.keras import require_keras
        from verify.errors import MissingDependencyError
        try:
            require_keras()
        except MissingDependencyError as exc:
            print(exc)
        print("keras" in sys.modules)
    """)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split("\n")[:2] == ["this target needs keras, which is not installed: install dlverify[keras]",
                                          "False"]


def test_loading_a_target_imports_no_keras():
    proc = run_python("""
        import sys, os
        from verify.targets import load_target
        load_target("numpy.sqrt")
        print("keras" in sys.modules, "jax" in sys.modules, os.environ["KERAS_BACKEND"])
    """)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["False", "False", "jax"]
