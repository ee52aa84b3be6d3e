"""Synthetic data sets with planted structure and loaders for real session and interaction files.

Generators (:func:`make_sessions`, :func:`make_interactions`, :func:`make_bipartite`) need no
files; loaders read local copies of public data sets with pandas and raise a ``ValueError``
naming the file, line and column of anything malformed. Nothing here reads the network.
:class:`FlatSessions` is the flat layout of sessions (item ids plus offsets) that the session
loaders return with ``as_flat=True`` and that :meth:`FlatSessions.from_frame` builds from a long
click table; every session estimator accepts it in place of a list of lists.
"""
from .._flat import FlatSessions
from ._loaders import (
    load_diginetica,
    load_interactions_csv,
    load_movielens,
    load_movielens_ratings,
    load_session_csv,
)
from ._srgnn import load_srgnn
from ._synthetic import make_bipartite, make_interactions, make_sessions

__all__ = [
    "FlatSessions",
    "load_diginetica",
    "load_interactions_csv",
    "load_movielens",
    "load_movielens_ratings",
    "load_session_csv",
    "load_srgnn",
    "make_bipartite",
    "make_interactions",
    "make_sessions",
]
