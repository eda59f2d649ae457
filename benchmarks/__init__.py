"""Performance measurements of the handlers (not tests: run `python -m benchmarks.run`)."""
