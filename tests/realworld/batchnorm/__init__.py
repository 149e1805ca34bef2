"""Real-world batchnorm implementations (see tests/realworld/__init__.py)."""
