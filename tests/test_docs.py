"""Generated documentation stays in step with the code."""

from pathlib import Path

from verify.cli import render_spec_list_markdown
from verify.specs import all_specs

ROOT = Path(__file__).resolve().parent.parent


def test_specs_md_is_the_output_of_verify_list_markdown():
    expected = render_spec_list_markdown(all_specs())
    actual = (ROOT / "docs" / "specs.md").read_text(encoding="utf-8")
    assert actual == expected, "docs/specs.md is stale: regenerate with `verify list --markdown > docs/specs.md`"
