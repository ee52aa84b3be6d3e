"""Who met whom, and when first: the partner index behind common-partner counts of a stream."""
from itertools import pairwise

import numpy as np

__all__ = ["PartnerIndex"]

# Most (query, partner) entries expanded at once when counting common partners.
_EXPANSION_LIMIT = 2**22


def _expand(starts, lengths):
    """Flat indices ``starts[i] .. starts[i] + lengths[i] - 1`` of every ``i``, and the ``i`` of each."""
    rows = np.repeat(np.arange(len(lengths)), lengths)
    offsets = np.cumsum(lengths) - lengths
    return np.arange(int(lengths.sum())) - offsets[rows] + starts[rows], rows


class PartnerIndex:
    """The distinct partners of every object, each at the row of their first meeting.

    Built from a stream of interactions ``(a_i, b_i)`` (object codes, rows in time order):
    every unordered pair that ever met (self-loops left out) is kept once, at its first row,
    as two entries ``(a, partner b, row)`` and ``(b, partner a, row)``, sorted by
    ``(object, row)``. The partners an object had met among the first ``cut`` rows are then
    one contiguous run of its entries, found with one binary search.

    Parameters
    ----------
    sources, targets : ndarray of shape (n,), int64
        Object codes of the interactions, in time order (``>= 0``).
    n_objects : int
        Codes are below it.

    Examples
    --------
    >>> index = PartnerIndex(np.array([0, 1, 2, 0]), np.array([1, 2, 0, 3]), n_objects=4)
    >>> index.common(np.array([0, 0]), np.array([2, 2]), np.array([1, 4]))  # after row 1, 1 met both
    array([0, 1])
    """

    def __init__(self, sources, targets, n_objects):
        n = len(sources)
        v = max(int(n_objects), 1)
        lo, hi = np.minimum(sources, targets), np.maximum(sources, targets)
        keep = np.flatnonzero(lo != hi)
        _, first = np.unique(lo[keep] * v + hi[keep], return_index=True)
        rows = keep[first]
        objects = np.r_[lo[rows], hi[rows]]
        partners = np.r_[hi[rows], lo[rows]]
        met = np.r_[rows, rows]
        order = np.lexsort((met, objects))
        self.n_rows, self.n_objects = n, v
        self._key = objects[order] * np.int64(n + 1) + met[order]  # sorted (object, first-meeting row)
        self._partner = partners[order]

    def partners_before(self, objects, cut):
        """Start and length of each object's run of partners met among the first ``cut`` rows."""
        base = np.asarray(objects, dtype=np.int64) * np.int64(self.n_rows + 1)
        start = np.searchsorted(self._key, base)
        end = np.searchsorted(self._key, base + np.asarray(cut, dtype=np.int64))
        return start, np.where(np.asarray(objects) >= 0, end - start, 0)

    def common(self, x, y, cut):
        """Number of objects other than ``x[j]`` and ``y[j]`` that both met among the first ``cut[j]`` rows.

        Parameters
        ----------
        x, y : ndarray of shape (m,), int64
            Object codes (``-1``, or a code at or above ``n_objects``: no partners).
        cut : ndarray of shape (m,), int64
            Rows of the stream each query sees.

        Returns
        -------
        counts : ndarray of shape (m,), int64
        """
        x = np.where((x >= 0) & (x < self.n_objects), x, -1)
        y = np.where((y >= 0) & (y < self.n_objects), y, -1)
        runs = [self.partners_before(x, cut), self.partners_before(y, cut)]
        out = np.zeros(len(x), dtype=np.int64)
        load = np.cumsum(runs[0][1] + runs[1][1])
        if not len(x) or not load[-1]:
            return out
        steps = np.arange(1, load[-1] // _EXPANSION_LIMIT + 1) * _EXPANSION_LIMIT
        bounds = np.r_[0, np.searchsorted(load, steps, side="right"), len(x)]
        for lo, hi in pairwise(bounds):  # chunks of at most ~_EXPANSION_LIMIT entries (one per big query)
            if hi <= lo:
                continue
            keys = []
            for (start, length), other in zip(runs, (y, x)):
                flat, rows = _expand(start[lo:hi], length[lo:hi])
                partner = self._partner[flat]
                mine = partner != other[lo:hi][rows]  # the other end itself is no common partner
                keys.append(rows[mine] * np.int64(self.n_objects) + partner[mine])
            keys = np.sort(np.concatenate(keys))  # each run holds distinct partners: a repeat is shared
            shared = keys[1:][keys[1:] == keys[:-1]]
            out[lo:hi] = np.bincount(shared // self.n_objects, minlength=hi - lo)
        return out
