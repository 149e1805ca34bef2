"""Buggy Nesterov implementations (spec ``nesterov``)."""

class HeavyBall:
    """Plain momentum under the name Nesterov."""

    def __init__(self, lr, momentum):
        self.lr, self.mu, self.b = lr, momentum, 0.0

    def step(self, params, grads):
        self.b = self.mu * self.b + grads
        return params - self.lr * self.b


class LookaheadSign:
    """g − μb instead of g + μb."""

    def __init__(self, lr, momentum):
        self.lr, self.mu, self.b = lr, momentum, 0.0

    def step(self, params, grads):
        self.b = self.mu * self.b + grads
        return params - self.lr * (grads - self.mu * self.b)


class StaleBuffer:
    """The look-ahead term uses the buffer from the previous step."""

    def __init__(self, lr, momentum):
        self.lr, self.mu, self.b = lr, momentum, 0.0

    def step(self, params, grads):
        out = params - self.lr * (grads + self.mu * self.b)
        self.b = self.mu * self.b + grads
        return out


class OnePlusMu:
    """(1 + μ)b instead of g + μb."""

    def __init__(self, lr, momentum):
        self.lr, self.mu, self.b = lr, momentum, 0.0

    def step(self, params, grads):
        self.b = self.mu * self.b + grads
        return params - self.lr * (1 + self.mu) * self.b


class Sutskever:
    """Sutskever's form v ← μv − ηg, w ← w + v, returning w rather than the look-ahead point w + μv.

    Through step(params, grads) the caller takes the next gradient at the returned w, never at a
    look-ahead point: this is heavy ball, and every check that compares iterates says so.
    """

    def __init__(self, lr, momentum):
        self.lr, self.mu, self.v = lr, momentum, 0.0

    def step(self, params, grads):
        self.v = self.mu * self.v - self.lr * grads
        return params + self.v


class LookaheadTwice:
    """Sutskever's form that also adds the look-ahead to the returned point twice (p + 2μv)."""

    def __init__(self, lr, momentum):
        self.lr, self.mu, self.v, self.w = lr, momentum, 0.0, None

    def step(self, params, grads):
        if self.w is None:
            self.w = params.copy()
        self.v = self.mu * self.v - self.lr * grads
        self.w = self.w + self.v
        return self.w + 2 * self.mu * self.v


class EMABuffer:
    """Nesterov with an exponential-average buffer b ← μb + (1 − μ)g."""

    def __init__(self, lr, momentum):
        self.lr, self.mu, self.b = lr, momentum, 0.0

    def step(self, params, grads):
        self.b = self.mu * self.b + (1 - self.mu) * grads
        return params - self.lr * (grads + self.mu * self.b)


class LrOnGradientOnly:
    """The learning rate multiplies the gradient but not the momentum term: w − ηg − μ²b... (w − ηg − μb)."""

    def __init__(self, lr, momentum):
        self.lr, self.mu, self.b = lr, momentum, 0.0

    def step(self, params, grads):
        self.b = self.mu * self.b + grads
        return params - self.lr * grads - self.mu * self.b


BUGS = {
    # Heavy ball is Sutskever's form used with gradients at the returned parameters: a different algorithm.
    "heavy-ball": (HeavyBall, "conformance", "heavy-ball momentum"),
    "heavy-ball-symbolic": (HeavyBall, "symbolic-iterates", "heavy-ball momentum"),
    "heavy-ball-rate": (HeavyBall, "nesterov-rate", "Sutskever's form"),
    "sutskever": (Sutskever, "conformance", "heavy-ball momentum"),
    "sutskever-symbolic": (Sutskever, "symbolic-iterates", "Sutskever"),
    "stale-buffer": (StaleBuffer, "nesterov-rate", "heavy-ball momentum"),
    "ema": (EMABuffer, "conformance", "exponential-average buffer"),
    "lr-on-gradient-only": (LrOnGradientOnly, "conformance", None),
    "lookahead-sign": (LookaheadSign, "conformance", "wrong sign"),
    "one-plus-mu": (OnePlusMu, "conformance", "(1 + μ)b"),
    "lookahead-twice": (LookaheadTwice, "conformance", None),
    "lookahead-twice-symbolic": (LookaheadTwice, "symbolic-iterates", None),
}

CORRECT: dict = {}
