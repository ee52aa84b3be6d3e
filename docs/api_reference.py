"""Sections of the API reference (``docs/api/index.rst`` is generated from this table).

One section per public module, in reading order. The names of a section are the module's
``__all__``: a name added there appears in the reference by itself. A new public module needs a
section here (the build fails until it has one) or an entry in ``NOT_IN_API_REFERENCE``.
An object exported by several modules is documented once, under the first section that lists it.
"""

API_REFERENCE = [
    {
        "module": "sklearn_ubergnn.session",
        "title": "Session recommendation",
        "description": "User guide: :doc:`/session_recommendation` and :doc:`/ubergnn`.",
    },
    {
        "module": "sklearn_ubergnn.dynamic",
        "title": "Dynamic interaction graphs",
        "description": "User guide: :doc:`/dynamic`.",
    },
    {
        "module": "sklearn_ubergnn.disentangled",
        "title": "Disentangled bipartite GNN and distillation",
        "description": "User guide: :doc:`/disentangled`.",
    },
    {
        "module": "sklearn_ubergnn.pipeline",
        "title": "Pipelines that recommend",
        "description": "",
    },
    {
        "module": "sklearn_ubergnn.distributed",
        "title": "Distributed inference",
        "description": "Top-k lists for click tables too large for one process: dask, or Spark's "
                       "``applyInPandas``. User guide: :doc:`/scaling` (Distributed inference).",
    },
    {
        "module": "sklearn_ubergnn.datasets",
        "title": "Data sets: generators and loaders",
        "description": "User guide: :doc:`/datasets`.",
    },
    {
        "module": "sklearn_ubergnn.preprocessing",
        "title": "Preprocessing and splits",
        "description": "User guide: :doc:`/evaluation`.",
    },
    {
        "module": "sklearn_ubergnn.metrics",
        "title": "Top-k metrics and scorers",
        "description": "User guide: :doc:`/session_recommendation` (metrics) and :doc:`/evaluation`.",
    },
    {
        "module": "sklearn_ubergnn.evaluation",
        "title": "Evaluation loops",
        "description": "One loop per task (sessions, user–item graphs, interaction streams), shared by the "
                       "command line, the benchmark suites and the examples. User guide: :doc:`/evaluation`.",
    },
    {
        "module": "sklearn_ubergnn.benchmark",
        "title": "Benchmark suites",
        "description": "Measured figures: :doc:`/benchmarks`.",
    },
    {
        "module": "sklearn_ubergnn.utils",
        "title": "Utilities",
        "description": "The registry of public estimators the common tests run over.",
    },
    {
        "module": "sklearn_ubergnn.graphs",
        "title": "Graph structures in flat arrays",
        "description": "",
    },
    {
        "module": "sklearn_ubergnn.nn",
        "title": "Torch modules",
        "description": "The networks the estimators train, usable on their own with PyTorch.",
    },
]

# Public modules deliberately left out, with the reason.
NOT_IN_API_REFERENCE = {
    "sklearn_ubergnn.cli": "the ``ubergnn`` command line (see Getting started)",
    "sklearn_ubergnn.base": "the torch estimators' shared mixin, for contributors (see the Architecture page)",
}
