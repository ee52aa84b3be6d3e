"""What the training-free stream baselines share: a memory of interactions, filled by fit and partial_fit."""
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator, _fit_context

from .._validation import check_interactions

__all__ = []


class _InteractionMemory(BaseEstimator):
    """Base of the link baselines whose whole model is the interactions given to them.

    :meth:`fit` memorises a table of interactions, :meth:`partial_fit` adds to it (the streaming
    protocol: score a batch, then add it); both end with the subclass's ``_build()``, which
    indexes ``self._history = (sources, targets, times)`` (raw ids, rows in the order given).
    """

    _parameter_constraints: ClassVar[dict] = {
        "source_col": [str],
        "target_col": [str],
        "time_col": [str],
    }

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False  # a table of ids and times, not a numeric matrix
        tags.requires_fit = True
        tags.non_deterministic = False
        return tags

    def _check_X(self, X):
        sources, targets, times, _ = check_interactions(
            X, source=self.source_col, target=self.target_col, time=self.time_col, require_sorted=False
        )
        return sources, targets, times

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Memorise the interactions of ``X`` (forgetting any earlier history).

        Parameters
        ----------
        X : DataFrame
            Columns ``source_col``, ``target_col`` (raw ids, int or str) and ``time_col`` (real
            numbers), any order of rows.
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted baseline.
        """
        self._history = self._check_X(X)
        self._build()
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None, update_only=True):
        """Add the interactions of ``X`` to the memorised history (``fit`` if not fitted yet).

        Parameters
        ----------
        X : DataFrame
            Interactions with the columns of ``fit``, any order of rows.
        y : None
            Ignored.
        update_only : bool, default=True
            Accepted for the streaming protocol shared with
            :class:`~sklearn_ubergnn.dynamic.DynamicGraphEmbedder`
            (``partial_fit(batch, update_only=True)``); memorising is all this baseline learns,
            so both values do the same.

        Returns
        -------
        self : object
            The updated baseline.
        """
        new = self._check_X(X)
        if not hasattr(self, "_history"):
            self._history = new
        else:
            old = self._history
            if (old[0].dtype == object) != (new[0].dtype == object):
                raise TypeError(
                    "the model was fitted on "
                    f"{'str' if old[0].dtype == object else 'int'} ids but X holds "
                    f"{'str' if new[0].dtype == object else 'int'} ids; use one id type throughout."
                )
            self._history = tuple(np.concatenate([a, b]) for a, b in zip(old, new))
        self._build()
        return self
