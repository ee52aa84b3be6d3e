"""Benchmark scripts of sklearn_ubergnn and ``python -m benchmarks run``, the one-run suites.

The suite logic lives in :mod:`sklearn_ubergnn.benchmark` (shared with ``ubergnn benchmark``);
``python -m benchmarks run --suite session|dynamic|bipartite`` is a thin wrapper whose default
RESULTS.md is this folder's. The older scripts here (``dynamic_suite.py``, ``bipartite_ml100k.py``,
``bitcoin_lr_baseline.py``, ...) keep working and reuse the suite's functions.
"""
