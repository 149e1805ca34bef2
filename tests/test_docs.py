"""Generated documentation stays in step with the code."""

from pathlib import Path

import pytest

from verify.cli import render_spec_list_markdown
from verify.specs import all_specs

ROOT = Path(__file__).resolve().parent.parent


def test_specs_md_is_the_output_of_verify_list_markdown():
    expected = render_spec_list_markdown(all_specs())
    actual = (ROOT / "docs" / "specs.md").read_text(encoding="utf-8")
    assert actual == expected, "docs/specs.md is stale: regenerate with `verify list --markdown > docs/specs.md`"


def _section(text: str, title: str) -> str:
    start = text.index(f"## {title}")
    end = text.find("\n## ", start + 3)
    return text[start:] if end < 0 else text[start:end]


def _first_python_block(section: str) -> str:
    start = section.index("```python\n") + len("```python\n")
    return section[start:section.index("```", start)]


@pytest.mark.parametrize("title,name,spec", [
    ("Regulariser", "grad", "l2"),
    ("Initialiser", "init", "init-he"),
    ("Newton step", "step", "newton"),
    ("Batch norm", "BatchNorm", "batchnorm"),
    ("Layer norm and RMS norm", "LayerNorm", "layernorm"),
    ("Gradient clipping", "clip", "grad-clip-norm"),
])
def test_protocol_examples_pass_their_spec(title, name, spec):
    # The examples users copy must themselves be right (the initialiser's once took fan_in from shape[0]).
    import numpy as np

    from verify.runner import RunOptions, RunPlan, run_inline

    code = _first_python_block(_section((ROOT / "docs" / "protocols.md").read_text(encoding="utf-8"), title))
    namespace = {"np": np}
    exec(compile(code, f"docs/protocols.md ({title})", "exec"), namespace)  # noqa: S102 - our own docs
    run = run_inline(RunPlan(namespace[name], spec, {}, RunOptions(seed=0, timeout=None, max_examples=20)))
    assert run.passed, [(c.name, c.status.value, c.message[:200]) for c in run.checks if c.status.value != "pass"]
