"""Utilities for the package's users and its tests: :func:`all_estimators` lists every public estimator."""
from .discovery import all_estimators

__all__ = ["all_estimators"]
