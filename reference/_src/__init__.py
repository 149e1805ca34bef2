"""Private implementation of the reference formulas; import from :mod:`reference`."""
