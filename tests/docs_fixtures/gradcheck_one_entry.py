"""docs/gradcheck.md's example: logsumexp at n = 10^5, the softmax gradient with one entry wrong by DELTA of the
typical entry (python gradcheck_one_entry.py DELTA)."""

import sys

import numpy as np

from verify.gradcheck import check_grad

n, i = 100_000, 33_333
delta = float(sys.argv[1])
x = np.random.default_rng(0).standard_normal(n)


def f(x):
    m = np.max(x.real)
    return m + np.log(np.sum(np.exp(x - m)))


def grad(x):
    e = np.exp(x - np.max(x))
    g = e / e.sum()
    g[i] += delta * max(abs(g[i]), np.linalg.norm(g) / np.sqrt(n))
    return g


print(check_grad(f, grad, x))
