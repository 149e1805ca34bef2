"""HTML verification reports: one self-contained file with inline CSS and SVG plots.

:func:`render_html` renders a :class:`~verify.results.Report` in two steps: the
result model becomes a presentation model (:mod:`verify.report.model`, with
the plots' geometry from :mod:`verify.report.plot`), which Jinja2 templates
(``templates/*.j2``, autoescaping on) turn into HTML. The output has no
scripts, links or URLs, and is a deterministic function of the report.

``verify check ... --html PATH`` and pytest's ``--verify-html PATH`` write it;
:func:`write_html` does the same from Python (temporary file and rename).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from verify.results import Report

__all__ = ["render_html", "write_html", "load_writers"]

_TEMPLATES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates")
_ENV = None


def _environment():
    global _ENV
    if _ENV is None:
        import jinja2

        _ENV = jinja2.Environment(
            loader=jinja2.FileSystemLoader(_TEMPLATES),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
            auto_reload=False,
        )
    return _ENV


def load_writers() -> None:
    """Import and compile now everything writing the reports needs (Jinja2, the template, the writers).

    Called before any target runs: a target may write files where Python looks for modules (``jinja2.py`` in
    the working directory, a module the first import of which would come later), and this process judges
    it, so nothing it imports once targets have run may be theirs.
    """
    from verify.report import files, model  # noqa: F401

    _environment().get_template("report.html.j2")


def render_html(report: "Report") -> str:
    """The report as one self-contained HTML document (deterministic for a given report)."""
    from verify.report.model import build_view

    view = build_view(report)
    return _environment().get_template("report.html.j2").render(v=view)


def write_html(report: "Report", path: str) -> None:
    """Render ``report`` and write it to ``path`` atomically (temporary file, then rename)."""
    from verify.report.files import write_reports

    write_reports(report, None, path)
