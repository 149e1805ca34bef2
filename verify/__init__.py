"""dlverify: prove an implementation of a training formula right, or show how it is wrong."""
__version__ = "0.1.0"
