"""SGD optimizers (``Cls(lr).step(params, grads) -> new params``) that hang, each in its own way, where no timer
inside their process can stop them: the verifier must stop them from outside, on time.

Every class is correct until it hangs (w - lr * g), so a check that never reaches the hang can pass; the ones
that hang at the first call hang in the probes the verifier runs while adapting them, too.
"""

import collections
import itertools
import os
import signal
import threading
import time


def _forever():
    while True:
        time.sleep(0.05)


def _hang_with(how):
    if how == "blocks-alarm":
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
    elif how == "ignores-alarm":
        signal.signal(signal.SIGALRM, signal.SIG_IGN)
    elif how == "ignores-term":
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
    elif how == "c-loop":
        collections.deque(itertools.count(), maxlen=0)      # C code holding the GIL: no handler ever runs
    elif how == "c-sleep":
        # The alarm is blocked in this thread and a thread started before takes it: its handler would run in
        # the main thread only, which sleeps in C and is never woken.
        threading.Thread(target=_forever, daemon=True).start()
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
        time.sleep(10 ** 6)
    elif how == "spins-and-waits":
        # A thread spins in Python for ever while the main thread waits on a lock nobody releases.
        def spin():
            n = 0
            while True:
                n += 1

        threading.Thread(target=spin, daemon=True).start()
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
        lock = threading.Lock()
        lock.acquire()
        lock.acquire()
    elif how == "forks-holding-pipes":
        # A child in a session of its own keeps every descriptor (the output pipe, the socket) open for ever;
        # the process itself hangs with the alarm blocked.
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM, signal.SIGTERM})
                _forever()
            os._exit(0)
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
    _forever()


class _Sgd:
    hang = ""          # how it hangs
    at_step = 1        # the call of step that hangs (counted per instance)

    def __init__(self, lr):
        self.lr = lr
        self.calls = 0

    def step(self, params, grads):
        self.calls += 1
        if self.calls >= self.at_step:
            _hang_with(self.hang)
        return params - self.lr * grads


class HangsInInit:
    def __init__(self, lr):
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
        _forever()


class HangsAtFirstStep(_Sgd):
    hang = "plain"


class HangsAtLaterStep(_Sgd):
    hang = "blocks-alarm"
    at_step = 40        # after the probes of its load (a few steps): only the checks reach it


class BlocksAlarmAtStep(_Sgd):
    hang = "blocks-alarm"


class IgnoresAlarmAtStep(_Sgd):
    hang = "ignores-alarm"


class IgnoresTermAtStep(_Sgd):
    hang = "ignores-term"


class LoopsInCAtStep(_Sgd):
    hang = "c-loop"


class SleepsInCAtStep(_Sgd):
    hang = "c-sleep"


class SpinsAndWaitsAtStep(_Sgd):
    hang = "spins-and-waits"


class ForksHoldingPipesAtStep(_Sgd):
    hang = "forks-holding-pipes"


def init_hangs(shape, rng=None):
    """An initialiser that hangs with the alarm blocked: the verifier calls it once while loading it."""
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
    _forever()


HANGS = ["HangsInInit", "HangsAtFirstStep", "HangsAtLaterStep", "BlocksAlarmAtStep", "IgnoresAlarmAtStep",
         "IgnoresTermAtStep", "LoopsInCAtStep", "SleepsInCAtStep", "SpinsAndWaitsAtStep", "ForksHoldingPipesAtStep"]
