"""Shared test configuration.

Hypothesis runs derandomized with no deadline by default (the ``ci``
profile), so every run of the suite draws the same examples and a failure
prints a reproduction blob. Set ``HYPOTHESIS_PROFILE=dev`` locally to explore
with fresh randomness.
"""

import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    print_blob=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None, print_blob=True, max_examples=200)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# Under pytest-xdist the workers already fill the cores: a `verify check` a test starts runs its checks in one
# job unless the test asks for more (one job loads the target once; two compete with the other worker's).
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.setdefault("VERIFY_JOBS", "1")


@pytest.fixture
def target_process():
    """A target process (verify.remote) that loads subjects, closed after the test."""
    from verify import remote
    from verify.runner import load_subject

    process = remote.start(load_subject)
    yield process
    process.close()


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """Keep each ``xdist_group`` on one worker under ``--dist loadgroup``.

    pytest-xdist (3.8) groups by appending ``@group`` to a test's id through ``item._nodeid``, which pytest 9.2
    no longer reads (the id is ``item._id``, a :class:`NodeId`): every group was spread over both workers, so a
    module-wide Keras drive ran once on each. The same suffix is set where pytest reads it; with an older pytest,
    or a fixed xdist, the ids already carry it and nothing changes.
    """
    if not getattr(config.option, "loadgroup", False):
        return
    try:
        from _pytest.nodeid import NodeId
    except ImportError:
        return
    for item in items:
        groups = sorted({str(m.args[0] if m.args else m.kwargs.get("name", "default"))
                         for m in item.iter_markers("xdist_group")})
        nodeid = item.nodeid
        if groups and nodeid.rfind("@") <= nodeid.rfind("]") and isinstance(getattr(item, "_id", None), NodeId):
            item._id = NodeId.parse(f"{nodeid}@{'_'.join(groups)}")
