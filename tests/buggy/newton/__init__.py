"""Buggy Newton steps; ``BUGS`` maps a name to ``(step, check, phrase)`` as for the optimizers."""
