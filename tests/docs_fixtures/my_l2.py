"""A correct L2 gradient (the README's first command checks it; its example then writes a wrong one)."""


def grad(w, lam):
    return 2 * lam * w
