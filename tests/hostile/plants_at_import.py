"""Plants jinja2.py in the working directory when it is imported, before any check: `pytest --verify` imports a
target once at start-up, to refuse a pair it cannot load, and then ran Jinja2's first import in its own process
when it wrote the HTML report (tests/test_hostile_red.py). The planted module notes where it was imported."""

import os

with open(os.path.join(os.getcwd(), "jinja2.py"), "w") as _fh:
    _fh.write("import os, sys\nwith open(os.path.join(%r, 'IMPORTED'), 'a') as fh:\n"
              "    fh.write('jinja2 in %%s\\n' %% ' '.join(sys.argv[:2]))\n" % os.getcwd())


def grad(w, lam):
    return 3 * lam * w
