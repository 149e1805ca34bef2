"""Real-world layer-norm and RMS-norm implementations (see tests/realworld/__init__.py)."""
