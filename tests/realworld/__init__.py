"""Implementations written the way third-party code is written, paraphrased from public sources (course
solutions, textbooks, numpy libraries, optimizer packages), each in its own shape. Used to measure false alarms,
misses and diagnosis accuracy on real code."""
