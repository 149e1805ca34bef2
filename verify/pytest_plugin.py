"""pytest plugin for dlverify (registered through the ``pytest11`` entry point)."""
