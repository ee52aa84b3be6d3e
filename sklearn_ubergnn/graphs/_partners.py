"""Who met whom, how often and when: the pair and partner indices behind a stream's pair statistics.

Both index a contiguous block of rows of a stream (absolute row numbers ``first_row ..``), so a
growing stream keeps one large block and rebuilds only a small tail after each append
(:meth:`~sklearn_ubergnn.graphs.DynamicInteractionGraph.pair_features`).
"""
from itertools import pairwise

import numpy as np

__all__ = ["PairIndex", "PartnerIndex", "common_partners"]

# Most (query, partner) entries expanded at once when counting common partners: chunks whose arrays stay in
# the CPU caches (2**22 took 2-3x as long as 2**16 on the 51k training pairs of CollegeMsg; same counts).
_EXPANSION_LIMIT = 2**16
# Row numbers live in the low bits of the sorted keys: streams of up to 2^31 rows.
_ROW_BITS = 31


def _expand(starts, lengths):
    """Flat indices ``starts[i] .. starts[i] + lengths[i] - 1`` of every ``i``, and the ``i`` of each."""
    rows = np.repeat(np.arange(len(lengths)), lengths)
    offsets = np.cumsum(lengths) - lengths
    return np.arange(int(lengths.sum())) - offsets[rows] + starts[rows], rows


def _known(codes, n_objects):
    codes = np.asarray(codes, dtype=np.int64)
    return np.where((codes >= 0) & (codes < n_objects), codes, -1)


class PairIndex:
    """The rows of a block of a stream grouped by directed pair ``(source, target)``, in row order.

    Parameters
    ----------
    sources, targets : ndarray of shape (n,), int64
        Object codes of the block's interactions, in row order.
    labels : ndarray of shape (n,), int64
        Revealed label codes (``-1``: unknown).
    n_classes : int
        Label classes (0: none).
    n_objects : int
        Codes are below it.
    first_row : int, default=0
        Row number of the block's first interaction in the stream.
    """

    def __init__(self, sources, targets, labels, n_classes, n_objects, first_row=0):
        n = len(sources)
        self.n_objects, self.first_row, self.end = max(int(n_objects), 1), int(first_row), int(first_row) + n
        key = sources * np.int64(self.n_objects) + targets
        order = np.argsort(key, kind="stable")  # rows stay in order within a pair
        self._pairs, dense = np.unique(key[order], return_inverse=True)
        self._rows = order + self.first_row
        self._keys = (dense.astype(np.int64) << _ROW_BITS) | self._rows  # sorted (pair, row)
        onehot = np.zeros((n + 1, max(int(n_classes), 1)), dtype=np.float64)
        lab = labels[order]
        known = np.flatnonzero(lab >= 0)
        onehot[known + 1, lab[known]] = 1.0
        self._label_cum = np.cumsum(onehot, axis=0)

    def history(self, sources, targets, cut):
        """Per query, among the block's rows below ``cut``: the interactions ``source -> target``,
        their revealed labels per class ``(..., m, max(n_classes, 1))`` and the last such row (``-1``).

        ``cut`` is of shape ``(m,)``, or ``(k, m)`` for ``k`` cuts of each query (each pair is then
        looked up once); the outputs lead with the same shape.
        """
        src, dst = _known(sources, self.n_objects), _known(targets, self.n_objects)
        key = np.where((src >= 0) & (dst >= 0), src * np.int64(self.n_objects) + dst, -1)
        cut = np.asarray(cut, dtype=np.int64)
        if not len(self._pairs):
            return (np.zeros(cut.shape, np.int64), np.zeros((*cut.shape, self._label_cum.shape[1])),
                    np.full(cut.shape, -1, np.int64))
        at = np.minimum(np.searchsorted(self._pairs, key), len(self._pairs) - 1)
        found = (key >= 0) & (self._pairs[at] == key)
        base = at.astype(np.int64) << _ROW_BITS
        lo = np.searchsorted(self._keys, base)
        hi = np.searchsorted(self._keys, base | np.clip(cut, 0, self.end))
        count = np.where(found, hi - lo, 0)
        labels = np.where(found[..., None], self._label_cum[hi] - self._label_cum[lo], 0.0)
        last = np.where(count > 0, self._rows[np.maximum(hi - 1, 0)], -1)
        return count, labels, last


class PartnerIndex:
    """The distinct partners of every object in a block of a stream, each at the row of their first meeting.

    Every unordered pair that met in the block (self-loops left out) is kept once, at its first
    row, as two entries ``(a, partner b, row)`` and ``(b, partner a, row)``, sorted by
    ``(object, row)``. The partners an object had met in the block before row ``cut`` are then
    one contiguous run of its entries, found with one binary search.

    Parameters
    ----------
    sources, targets : ndarray of shape (n,), int64
        Object codes of the block's interactions, in row order (``>= 0``).
    n_objects : int
        Codes are below it.
    first_row : int, default=0
        Row number of the block's first interaction in the stream.

    Examples
    --------
    >>> index = PartnerIndex(np.array([0, 1, 2, 0]), np.array([1, 2, 0, 3]), n_objects=4)
    >>> common_partners([index], np.array([0, 0]), np.array([2, 2]), np.array([1, 4]))  # by row 4, 1 met both
    array([0, 1])
    """

    def __init__(self, sources, targets, n_objects, first_row=0):
        self.n_objects, self.first_row = max(int(n_objects), 1), int(first_row)
        lo, hi = np.minimum(sources, targets), np.maximum(sources, targets)
        keep = np.flatnonzero(lo != hi)
        _, first = np.unique(lo[keep] * np.int64(self.n_objects) + hi[keep], return_index=True)
        rows = keep[first]
        objects = np.r_[lo[rows], hi[rows]]
        order = np.lexsort((np.r_[rows, rows], objects))
        self._key = (objects[order] << _ROW_BITS) | (np.r_[rows, rows][order] + self.first_row)
        self._partner = np.r_[hi[rows], lo[rows]][order]

    def partners_before(self, objects, cut):
        """Start and length of each object's run of partners met in the block before row ``cut``."""
        objects = _known(objects, self.n_objects)
        base = np.maximum(objects, 0) << _ROW_BITS
        start = np.searchsorted(self._key, base)
        end = np.searchsorted(self._key, base | np.clip(np.asarray(cut, dtype=np.int64), 0, 2**_ROW_BITS - 1))
        return start, np.where(objects >= 0, end - start, 0)


def common_partners(indices, x, y, cut):
    """Number of objects other than ``x[j]`` and ``y[j]`` that both met before row ``cut[j]``.

    Parameters
    ----------
    indices : list of PartnerIndex
        Indices of consecutive blocks of one stream (a pair met in two blocks counts once).
    x, y : ndarray of shape (m,), int64
        Object codes (``-1``, or a code an index has not seen: no partners there).
    cut : ndarray of shape (m,), int64
        Each query sees the rows before it.

    Returns
    -------
    counts : ndarray of shape (m,), int64
    """
    x, y = np.asarray(x, dtype=np.int64), np.asarray(y, dtype=np.int64)
    out = np.zeros(len(x), dtype=np.int64)
    if not len(x):
        return out
    runs = [[(index, *index.partners_before(end, cut)) for index in indices] for end in (x, y)]
    load = np.cumsum(sum(length for side in runs for _, _, length in side))
    if not load[-1]:
        return out
    v = np.int64(max(max(index.n_objects for index in indices), 1))
    steps = np.arange(1, load[-1] // _EXPANSION_LIMIT + 1) * _EXPANSION_LIMIT
    bounds = np.r_[0, np.searchsorted(load, steps, side="right"), len(x)]
    for lo, hi in pairwise(bounds):  # chunks of at most ~_EXPANSION_LIMIT entries (one per big query)
        if hi <= lo:
            continue
        sides = []
        for side, other in zip(runs, (y, x)):
            keys = []
            for index, start, length in side:
                flat, rows = _expand(start[lo:hi], length[lo:hi])
                partner = index._partner[flat]
                mine = partner != other[lo:hi][rows]  # the other end itself is no common partner
                keys.append(rows[mine] * v + partner[mine])
            # a partner met in two blocks counts once (within a block each run holds distinct partners)
            sides.append(np.unique(np.concatenate(keys)) if len(keys) > 1 else keys[0])
        keys = np.sort(np.concatenate(sides))
        shared = keys[1:][keys[1:] == keys[:-1]]
        out[lo:hi] = np.bincount(shared // v, minlength=hi - lo)
    return out
