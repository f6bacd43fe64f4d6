"""The benchmark suite: run with ``pytest benchmarks/`` (quick) or ``pytest benchmarks/ --memo-full``."""
