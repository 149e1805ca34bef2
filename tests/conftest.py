"""Shared test configuration.

Hypothesis runs derandomized with no deadline by default (the ``ci``
profile), so every run of the suite draws the same examples and a failure
prints a reproduction blob. Set ``HYPOTHESIS_PROFILE=dev`` locally to explore
with fresh randomness.
"""

import os

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
