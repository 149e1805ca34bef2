"""Wrong L2 gradients (protocol: grad(w, lam)) that try to make the verifier say PASS anyway.

Each returns ``3 * lam * w`` (the right gradient of λ Σ w² is ``2 * lam * w``)
unless its attack finds something better to answer with, and each attacks
the verifier the way a student gaming an autograder would: by changing the
code that judges it, by writing into the channel results travel on, or by
reading the expected answer out of the checking code. With the target in a
process of its own (verify.remote) none of this reaches the checks, so each
must end in FAIL or ERROR. tests/test_forging.py runs them through the
command line, verify.api and the pytest plugin.
"""

import gc
import json
import os
import sys

import numpy as np


def _wrong(w, lam):
    return 3 * lam * w


# ----------------------------------------------------------------------------- changing the judge


def _patch_the_judge():
    """Make every result a pass wherever the verifier builds, checks or serialises one."""
    import verify.compare
    import verify.evidence
    import verify.results
    import verify.runner

    def to_dict(self, _original=verify.results.CheckResult.to_dict):
        data = _original(self)
        data.update(status="pass", message="forged")
        return data

    verify.results.CheckResult.to_dict = to_dict
    verify.evidence.failed = verify.evidence.passed
    _dumps = json.dumps

    def dumps(obj, *args, **kwargs):
        return _dumps(obj, *args, **kwargs).replace('"fail"', '"pass"').replace('"error"', '"pass"')

    json.dumps = dumps
    _execute = verify.runner.execute_check

    def execute_check(prep, check, options):
        result = _execute(prep, check, options)
        result.status = verify.results.Status.PASS
        return result

    verify.runner.execute_check = execute_check


_patch_the_judge()


def patches_the_judge(w, lam):
    """Patched CheckResult.to_dict, json.dumps, evidence.failed and runner.execute_check at import."""
    return _wrong(w, lam)


_isfinite = np.isfinite


def _isfinite_when_judged(x, *args, **kwargs):
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_globals.get("__name__", "").startswith("verify.compare"):
            return np.ones(np.shape(x), dtype=bool) if np.ndim(x) else True
        frame = frame.f_back
    return _isfinite(x, *args, **kwargs)


def patches_numpy_for_the_comparison(w, lam):
    """np.isfinite (and allclose, array_equal) lie when the comparison engine calls them."""
    np.isfinite = _isfinite_when_judged
    np.allclose = lambda *a, **k: True
    np.array_equal = lambda *a, **k: True
    return _wrong(w, lam)


# ----------------------------------------------------------------------------- writing the verdict


def _fake_events():
    lines = []
    for name in ("gradient-vs-symbolic", "gradient-finite-difference", "penalty-value",
                 "penalty-gradient-consistency", "sgd-step-identity", "grad-hygiene", "step-hygiene"):
        lines.append({"event": "start", "check": name})
        lines.append({"event": "result", "result": {"name": name, "kind": "symbolic", "status": "pass",
                                                     "message": "forged", "duration": 0.0}})
    lines.append({"event": "done"})
    return "".join(json.dumps(e) + "\n" for e in lines).encode()


def writes_fake_results(w, lam):
    """Writes result and done lines into every pipe or socket it can open: its own descriptors and those of
    its parents, found through /proc."""
    pid = os.getpid()
    payload = _fake_events()
    for owner in (pid, os.getppid()):
        try:
            fds = os.listdir(f"/proc/{owner}/fd")
        except OSError:
            continue
        for fd in fds:
            path = f"/proc/{owner}/fd/{fd}"
            try:
                link = os.readlink(path)
            except OSError:
                continue
            if not (link.startswith("pipe:") or link.startswith("socket:")):
                continue
            try:
                out = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:
                if owner == pid and fd.isdigit() and int(fd) > 2:
                    out = int(fd)          # its own descriptor: write to it directly
                else:
                    continue
            try:
                os.write(out, payload)
            except OSError:
                pass
    return _wrong(w, lam)


# ----------------------------------------------------------------------------- reading the answer


def _expected_from_the_checks(w, lam):
    """What the checking code would compare with: a CheckContext's reference, on the stack or on the heap."""
    frame = sys._getframe(1)
    while frame is not None:
        for value in frame.f_locals.values():
            reference = getattr(value, "reference", None)
            if reference is not None and hasattr(reference, "grad") and hasattr(value, "spec"):
                return reference.grad(np.array(w), lam)
        frame = frame.f_back
    for obj in gc.get_objects():
        if type(obj).__name__ == "CheckContext":
            return obj.reference.grad(np.array(w), lam)
    return None


def reads_the_expected_answer(w, lam):
    """Answers with the reference's gradient, found in the checker's frames or through gc."""
    found = _expected_from_the_checks(w, lam)
    return found if found is not None else _wrong(w, lam)


# ----------------------------------------------------------------------------- claiming a skip


class ClaimsEveryValueIsHeld:
    """A wrong SGD (twice the step) whose adapter, patched in its own process, answers every request for an
    optimizer with HeldParameterError, which a check reports as a skip when the run really holds the value."""

    def __init__(self, lr=0.01):
        self.lr = lr

    def step(self, params, grads):
        return params - 2 * self.lr * grads


def _claim_held():
    import verify.adapters.base as base
    from verify.errors import HeldParameterError

    def make(subject, **hparams):
        raise HeldParameterError("this check needs lr = 0.5, but lr is held at 0.01 (forged)")

    base.OptimizerSubject.make = make


_claim_held()
