"""Utilities for the package's users, its tests and its benchmarks.

- :func:`all_estimators` lists every public estimator of the package;
- :func:`check_sessions` validates sessions of item ids into the flat layout :class:`FlatSessions`
  that every session estimator works on, and :class:`ItemVocabulary` maps their ids to the integer
  codes the graphs and modules take (e.g. to time :func:`sklearn_ubergnn.graphs.build_session_graphs`
  on its own).
"""
from .._flat import FlatSessions
from .._validation import check_sessions
from .._vocabulary import ItemVocabulary
from .discovery import all_estimators

__all__ = ["FlatSessions", "ItemVocabulary", "all_estimators", "check_sessions"]
