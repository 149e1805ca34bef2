print("\x1b[31m" + "noise " * 100000)
import numpy as np
def grad(w, lam):
    return 2 * lam * w
