"""Whole-array helpers for ragged data stored as a flat array plus offsets (CSR layout)."""
import numpy as np

__all__ = ["SEGMENT_BLOCK", "concat_ranges", "gather_segments", "group_targets", "offsets_from_lengths", "pad_segments",
           "segment_blocks", "take_segments"]

#: Elements per block of the blocked whole-array passes (:func:`segment_blocks`): their temporaries
#: stay a few MiB each (2 MiB per int64 array) whatever the size of the data.
SEGMENT_BLOCK = 1 << 18


def offsets_from_lengths(lengths):
    """CSR offsets of consecutive segments of the given lengths: ``[0, l_0, l_0 + l_1, ...]``.

    Parameters
    ----------
    lengths : array-like of shape (n,), integer
        Length of each segment (e.g. ``np.bincount`` of sorted group codes).

    Returns
    -------
    offsets : ndarray of shape (n + 1,), int64
        Segment ``i`` is ``[offsets[i], offsets[i + 1])`` of the flat array.

    Examples
    --------
    >>> offsets_from_lengths([2, 0, 3]).tolist()
    [0, 2, 2, 5]
    """
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return offsets


def concat_ranges(starts, lengths):
    """Concatenate ``arange(starts[j], starts[j] + lengths[j])`` over ``j``, without a Python loop.

    Parameters
    ----------
    starts, lengths : array-like of shape (n,), int
        First position and length of each range (lengths ``>= 0``).

    Returns
    -------
    positions : ndarray of shape (lengths.sum(),), int64

    Examples
    --------
    >>> concat_ranges([5, 0, 9], [2, 0, 3])
    array([ 5,  6,  9, 10, 11])
    """
    starts = np.asarray(starts, dtype=np.int64)
    lengths = np.asarray(lengths, dtype=np.int64)
    out_starts = np.cumsum(lengths) - lengths
    return np.arange(int(lengths.sum()), dtype=np.int64) + np.repeat(starts - out_starts, lengths)


def segment_blocks(lengths, block=None):
    """Consecutive slices of segments whose lengths sum to at most ``block`` elements.

    A segment longer than ``block`` is a slice of its own. Whole-array passes over ragged data
    go block by block to bound their temporaries, at no cost in vectorisation.

    Parameters
    ----------
    lengths : ndarray of shape (n_segments,), int
        Length of each segment.
    block : int, default=None
        Elements per block; None reads :data:`SEGMENT_BLOCK` (at call time).

    Yields
    ------
    rows : slice
        Consecutive slices covering ``range(n_segments)``.

    Examples
    --------
    >>> list(segment_blocks(np.array([2, 2, 5, 1, 1]), block=4))
    [slice(0, 2, None), slice(2, 3, None), slice(3, 5, None)]
    """
    block = SEGMENT_BLOCK if block is None else block
    ends = np.cumsum(lengths)
    start = 0
    while start < len(lengths):
        done = int(ends[start - 1]) if start else 0
        stop = max(int(np.searchsorted(ends, done + block, side="right")), start + 1)
        yield slice(start, stop)
        start = stop


def gather_segments(values, starts, lengths):
    """``values[concat_ranges(starts, lengths)]``, gathered block by block (:func:`segment_blocks`).

    The result is the only array as long as the output: the positions are built per block.

    Examples
    --------
    >>> gather_segments(np.array([10, 11, 12, 13]), np.array([2, 0]), np.array([2, 3]))
    array([12, 13, 10, 11, 12])
    """
    starts = np.asarray(starts, dtype=np.int64)
    lengths = np.asarray(lengths, dtype=np.int64)
    out = np.empty(int(lengths.sum()), dtype=values.dtype)
    done = 0
    for rows in segment_blocks(lengths):
        n = lengths[rows]
        size = int(n.sum())
        out[done : done + size] = values[concat_ranges(starts[rows], n)]
        done += size
    return out


def take_segments(offsets, index):
    """Positions and new offsets of segments ``index`` of a CSR layout, in the order given.

    Parameters
    ----------
    offsets : ndarray of shape (n_segments + 1,), int
        Segment ``s`` spans ``offsets[s]:offsets[s + 1]``.
    index : array-like of shape (m,), int
        Segments to take (any order, repeats allowed, no negative values).

    Returns
    -------
    positions : ndarray of shape (total,), int64
        Positions in the flat array of the taken segments' elements, segment after segment.
    new_offsets : ndarray of shape (m + 1,), int64
        Offsets of the taken segments in ``positions``.
    lengths : ndarray of shape (m,), int64
        Length of each taken segment.

    Examples
    --------
    >>> positions, new_offsets, _ = take_segments(np.array([0, 2, 2, 5]), [2, 0])
    >>> positions, new_offsets
    (array([2, 3, 4, 0, 1]), array([0, 3, 5]))
    """
    index = np.asarray(index, dtype=np.int64)
    starts = np.asarray(offsets, dtype=np.int64)[index]
    lengths = np.asarray(offsets, dtype=np.int64)[index + 1] - starts
    new_offsets = offsets_from_lengths(lengths)
    return concat_ranges(starts, lengths), new_offsets, lengths


def pad_segments(values, offsets, fill=0):
    """Right-padded rows of the segments of a CSR layout, without a Python loop.

    Parameters
    ----------
    values : ndarray of shape (n_values,)
        The flat array; segment ``s`` is ``values[offsets[s]:offsets[s + 1]]``.
    offsets : ndarray of shape (n_segments + 1,), int
        Segment boundaries, ``offsets[0] == 0``.
    fill : scalar, default=0
        Value of the padding cells.

    Returns
    -------
    padded : ndarray of shape (n_segments, max(1, longest segment))
        Row ``s`` holds segment ``s`` followed by ``fill``.
    lengths : ndarray of shape (n_segments,), int64
        Length of each segment.

    Examples
    --------
    >>> pad_segments(np.array([7, 8, 9]), np.array([0, 2, 2, 3]), fill=-1)
    (array([[ 7,  8],
           [-1, -1],
           [ 9, -1]]), array([2, 0, 1]))
    """
    values = np.asarray(values)
    offsets = np.asarray(offsets, dtype=np.int64)
    lengths = np.diff(offsets)
    width = max(int(lengths.max(initial=0)), 1)
    padded = np.full((len(lengths), width), fill, dtype=values.dtype)
    rows = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)
    padded[rows, np.arange(len(values), dtype=np.int64) - offsets[rows]] = values
    return padded, lengths


def group_targets(users, items):
    """Distinct users (sorted) and, for each, the array of its distinct items (whole-array NumPy)."""
    order = np.argsort(users, kind="stable")
    users, items = users[order], items[order]
    uniq, starts = np.unique(users, return_index=True)
    return uniq, [np.unique(chunk) for chunk in np.split(items, starts[1:])]
