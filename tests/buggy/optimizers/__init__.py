"""Buggy optimizers, one module per spec, each class or factory a realistic bug.

Each module's ``BUGS`` maps a bug's name to ``(target, check, diagnosis)``:
the check that must catch it and a phrase its diagnosis (or message) must
contain (``None`` when no diagnosis is claimed). ``CORRECT`` lists
implementations that must pass (equivalent forms).
"""
