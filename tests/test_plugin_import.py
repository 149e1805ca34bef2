"""The plugin is light: loading it (which every pytest run does) imports nothing heavy."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytest_plugins = ("pytester",)

HEAVY = ("torch", "jax", "sympy", "scipy", "numpy", "hypothesis")


def test_importing_the_plugin_imports_nothing_heavy() -> None:
    code = ("import sys, verify.pytest_plugin; "
            f"print(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_the_plugin_is_registered_through_the_entry_point() -> None:
    from importlib.metadata import entry_points

    eps = [ep for ep in entry_points(group="pytest11") if ep.value == "verify.pytest_plugin"]
    assert eps, "the pytest11 entry point 'verify = verify.pytest_plugin' is not installed"


def test_a_plain_pytest_run_imports_nothing_heavy(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_plain=f"""
        import sys

        def test_nothing_heavy_loaded():
            loaded = sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY[:4]!r})
            assert loaded == []

        def test_plugin_active():
            assert "verify.pytest_plugin" in sys.modules
    """)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
