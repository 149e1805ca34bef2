"""Broken and hostile L2 gradients (protocol: grad(w, lam)), one per failure mode.

Each is checked by tests/test_hostile.py through the command line.
"""

import ctypes
import os
import sys
import time

import numpy as np


def raises(w, lam):
    raise RuntimeError("boom from the target")


def returns_nan(w, lam):
    return np.full_like(w, np.nan)


def returns_inf(w, lam):
    return 2 * lam * w + np.inf


def wrong_shape(w, lam):
    return (2 * lam * w).ravel()[:1]


def returns_none(w, lam):
    2 * lam * w


def returns_string(w, lam):
    return "2*lam*w"


def returns_complex(w, lam):
    return (2 * lam * w).astype(complex)


def mutates_input(w, lam):
    w *= 2.0            # corrupts the caller's array...
    return lam * w      # ...and returns the right value computed from it


_calls = [0]


def nondeterministic(w, lam):
    _calls[0] += 1
    return 2 * lam * w * (1.0 + 1e-6 * (_calls[0] % 3))


def loops_forever(w, lam):
    while True:
        pass


def sleeps(w, lam):
    time.sleep(10_000)


def segfaults(w, lam):
    ctypes.string_at(0)


def exits_process(w, lam):
    os._exit(3)


def calls_sys_exit(w, lam):
    sys.exit("the target decided to stop")


def prints_megabytes(w, lam):
    sys.stdout.write("x" * 3_000_000 + "\n")
    sys.stderr.write("\x1b[2J\x1b[31mred alert\x1b[0m\n")
    return 2 * lam * w


def hostile_message(w, lam):
    raise ValueError("<script>alert('x')</script>\x1b[2J\x07 " + "A" * 20_000)


def unprintable_message(w, lam):
    # A lone surrogate (no UTF-8 terminal or file takes it), bidirectional overrides that make text
    # read backwards, and a carriage return that would overwrite the status column.
    raise ValueError("bad \ud800 value \u202eSSAP\u202c \u2066all checks passed\u2069\rPASS")


def keyboard_interrupt(w, lam):
    raise KeyboardInterrupt


def recursion(w, lam):
    return recursion(w, lam)


def huge_allocation(w, lam):
    raise MemoryError("cannot allocate 10 TB")


class Unconvertible:
    def __array__(self, *args, **kwargs):
        raise TypeError("I refuse to be an array")


def returns_unconvertible(w, lam):
    return Unconvertible()


NOT_CALLABLE = 42

