"""Real-world newton implementations (see tests/realworld/__init__.py)."""
