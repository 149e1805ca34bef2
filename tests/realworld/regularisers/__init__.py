"""Real-world regularisers implementations (see tests/realworld/__init__.py)."""
