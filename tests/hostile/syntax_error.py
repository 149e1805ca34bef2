def grad(w, lam)
    return 2 * lam * w
