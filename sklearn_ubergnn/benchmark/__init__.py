"""One-run benchmark suites: every model and baseline of a task on the same split, several seeds.

:func:`run_suite` fits and scores every model of a suite (``"session"``, ``"dynamic"``,
``"bipartite"``) for each seed, by default each model × seed in a fresh process so that its peak
memory is its own, and returns a :class:`SuiteReport` with the per-run rows, a mean ± std
markdown table, a RESULTS.md section (between ``<!-- suite:<suite>:<data>:start -->`` and
``...:end -->`` markers, replaced idempotently by :func:`replace_section`) and PNG plots (metric
per epoch from skorch's history; quality against training time). ``ubergnn benchmark`` and
``python -m benchmarks run`` are thin command lines over it. The session suite scores with
:func:`sklearn_ubergnn._evaluation.evaluate_recommenders`, the loop of ``ubergnn evaluate``.
"""
from . import _bipartite, _dynamic, _session
from ._bipartite import bipartite_models
from ._cli import add_suite_arguments, run_from_args
from ._core import (
    SuiteData,
    SuiteReport,
    format_summary,
    replace_section,
    run_suite,
    suite_margin,
    summarize_runs,
)
from ._session import ValidationTopK, session_model_specs

SUITES = {"session": _session.SUITE, "dynamic": _dynamic.SUITE, "bipartite": _bipartite.SUITE}

__all__ = [
    "SUITES",
    "SuiteData",
    "SuiteReport",
    "ValidationTopK",
    "add_suite_arguments",
    "bipartite_models",
    "format_summary",
    "replace_section",
    "run_from_args",
    "run_suite",
    "session_model_specs",
    "suite_margin",
    "summarize_runs",
]
