"""Real-world corpus: implementations paraphrased from public code, each in its own shape.

``optimizers/`` lists optimizer implementations (course solutions, textbooks,
numpy libraries, optimizer packages) run by ``tests/test_realworld_optimizers.py``.
Every module under ``batchnorm/``, ``initialisers/``, ``regularisers/`` and
``newton/`` rewrites, in our own words, the way one public source (a course
solution, a textbook, a numpy library) or a typical student writes the
formula, plus the thinnest wrapper docs/protocols.md asks for — the way a
user would plug it in. Each module lists its ``CASES``: correct ones must not
be rejected; buggy ones (a realistic mistake planted in that shape) must fail
the named checks with a diagnosis naming the cause. ``tests/test_realworld.py``
runs them all.
"""
