"""Target strings resolve to objects, or fail with one line naming the problem."""

import pytest

import reference
from verify.errors import MissingDependencyError, TargetLoadError
from verify.targets import load_target


def test_dotted_module_attr_and_file_forms(tmp_path):
    assert load_target("reference.adam") is reference.adam
    assert load_target("reference:adam") is reference.adam
    assert load_target("reference._src.sgd:trace.__name__") == "trace"
    f = tmp_path / "mine.py"
    f.write_text("import helper\nvalue = helper.X + 1\ndef grad(w, lam):\n    return 2 * lam * w\n")
    (tmp_path / "helper.py").write_text("X = 41\n")
    assert load_target(f"{f}:value") == 42                  # siblings importable
    assert load_target(str(f)).grad(1.0, 1.0) == 2.0         # the file itself as a module


def test_two_files_with_the_same_name_do_not_collide(tmp_path):
    for d, v in (("a", 1), ("b", 2)):
        (tmp_path / d).mkdir()
        (tmp_path / d / "opt.py").write_text(f"V = {v}\n")
    assert load_target(f"{tmp_path}/a/opt.py:V") == 1
    assert load_target(f"{tmp_path}/b/opt.py:V") == 2


@pytest.mark.parametrize("target,words", [
    ("", "non-empty"),
    ("reference:", "names no attribute"),
    ("reference.no_such_thing", "has no attribute 'no_such_thing'"),
    ("definitely_missing_pkg.x", "no module named 'definitely_missing_pkg'"),
    ("a b", "is not a dotted name"),
    # Keras's name of an initializer given bare (as in kernel_initializer="he_normal"): the target to give instead
    ("he_normal", r"Keras's name of an initializer; give keras\.initializers\.he_normal"),
])
def test_errors_name_the_problem(target, words):
    with pytest.raises(TargetLoadError, match=words):
        load_target(target)


def test_missing_optional_library_is_a_missing_dependency(monkeypatch):
    import builtins
    real = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name.split(".")[0] == "optax":
            raise ModuleNotFoundError("No module named 'optax'", name="optax")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    monkeypatch.delitem(__import__("sys").modules, "optax", raising=False)
    with pytest.raises(MissingDependencyError, match=r"install dlverify\[optax\]"):
        load_target("optax.adam")
