"""Real-world initialisers implementations (see tests/realworld/__init__.py)."""
