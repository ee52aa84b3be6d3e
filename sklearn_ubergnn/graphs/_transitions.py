"""Item-to-item transition graphs over a set of sessions, in whole-array NumPy and one sparse matrix."""
import numpy as np
import scipy.sparse as sp

__all__ = ["item_transition_graph", "neighbour_table", "strongest_per_row"]


def item_transition_graph(items, session, n_items, distance_weights, *, symmetric=False):
    """Weighted item transitions within a window of clicks, summed over all sessions.

    For every pair of clicks ``p`` (position ``i``) and ``q`` (position ``j``) of the same
    session with ``1 <= j - i <= len(distance_weights)`` and ``p != q``, the entry ``[p, q]``
    gains ``distance_weights[j - i - 1]`` (and ``[q, p]`` too with ``symmetric=True``). This is
    the rule matrix of sequential rules (Ludewig & Jannach, 2018) and, with unit weights over 3
    steps made symmetric, the global item graph of GCE-GNN (Wang et al., 2020).

    One pass per distance over the flat clicks; never a loop over sessions.

    Parameters
    ----------
    items : ndarray of shape (n_clicks,), int64
        Item codes in ``[0, n_items)`` of all sessions, concatenated in click order.
    session : ndarray of shape (n_clicks,), int64
        Session of every click (clicks of a session are contiguous).
    n_items : int
        Number of items (the matrix is ``n_items x n_items``).
    distance_weights : array-like of shape (steps,)
        Weight of a pair of clicks at distance ``1, 2, ..., steps``.
    symmetric : bool, default=False
        Count every pair in both directions.

    Returns
    -------
    graph : scipy.sparse.csr_matrix of shape (n_items, n_items), float64
        Summed weights, no explicit zeros, sorted indices.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_ubergnn.graphs import item_transition_graph
    >>> g = item_transition_graph(np.array([0, 1, 2, 1, 0]), np.array([0, 0, 0, 1, 1]), 3, [1.0])
    >>> g.toarray()
    array([[0., 1., 0.],
           [1., 0., 1.],
           [0., 0., 0.]])
    """
    items = np.asarray(items, dtype=np.int64)
    session = np.asarray(session, dtype=np.int64)
    distance_weights = np.asarray(distance_weights, dtype=np.float64)
    empty = np.zeros(0, np.int64)
    rows, cols, weights = [empty], [empty], [np.zeros(0)]
    for distance in range(1, min(len(distance_weights), max(len(items) - 1, 0)) + 1):
        before, after = np.arange(len(items) - distance), np.arange(distance, len(items))
        keep = (session[before] == session[after]) & (items[before] != items[after])
        rows.append(items[before[keep]])
        cols.append(items[after[keep]])
        weights.append(np.full(int(keep.sum()), distance_weights[distance - 1]))
    rows, cols, weights = np.concatenate(rows), np.concatenate(cols), np.concatenate(weights)
    if symmetric:
        rows, cols, weights = np.concatenate([rows, cols]), np.concatenate([cols, rows]), np.tile(weights, 2)
    graph = sp.coo_matrix((weights, (rows, cols)), shape=(n_items, n_items)).tocsr()
    graph.sum_duplicates()
    graph.eliminate_zeros()
    return graph


def strongest_per_row(matrix, keep):
    """The ``keep`` largest entries of each row of a CSR matrix (ties by column), or all when None.

    Parameters
    ----------
    matrix : scipy.sparse.csr_matrix of shape (n_rows, n_cols)
    keep : int or None

    Returns
    -------
    pruned : scipy.sparse.csr_matrix of shape (n_rows, n_cols)
        Sorted indices within each row.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> strongest_per_row(sp.csr_matrix([[1.0, 3.0, 3.0, 2.0]]), 2).toarray()
    array([[0., 3., 3., 0.]])
    """
    if keep is None:
        return matrix
    n_rows = matrix.shape[0]
    rows = np.repeat(np.arange(n_rows, dtype=np.int64), np.diff(matrix.indptr))
    order = np.lexsort((matrix.indices, -matrix.data, rows))
    rows, cols, vals = rows[order], matrix.indices[order], matrix.data[order]
    rank = np.arange(len(rows)) - _row_starts(rows, n_rows)[rows]
    kept = rank < keep
    rows, cols, vals = rows[kept], cols[kept], vals[kept]
    by_column = np.lexsort((cols, rows))
    return sp.csr_matrix((vals[by_column], cols[by_column], _row_starts(rows[by_column], n_rows)),
                         shape=matrix.shape)


def neighbour_table(matrix, width):
    """Each row's entries as a dense ``(n_rows, width)`` table, strongest first, padded.

    Parameters
    ----------
    matrix : scipy.sparse.csr_matrix of shape (n_rows, n_cols)
        At most ``width`` entries per row (see :func:`strongest_per_row`).
    width : int
        Columns of the table.

    Returns
    -------
    neighbours : ndarray of shape (n_rows, width), int64
        Column indices, the largest value first (ties by column); ``-1`` pads short rows.
    values : ndarray of shape (n_rows, width), float32
        Their values; 0 at the padding.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> neighbour_table(sp.csr_matrix([[0.0, 1.0, 2.0], [0.0, 0.0, 0.0]]), 3)[0]
    array([[ 2,  1, -1],
           [-1, -1, -1]])
    """
    n_rows = matrix.shape[0]
    counts = np.diff(matrix.indptr)
    if counts.size and counts.max() > width:
        raise ValueError(f"matrix has a row with {counts.max()} entries, more than width={width}.")
    rows = np.repeat(np.arange(n_rows, dtype=np.int64), counts)
    order = np.lexsort((matrix.indices, -matrix.data, rows))
    rows = rows[order]
    rank = np.arange(len(rows)) - _row_starts(rows, n_rows)[rows]
    neighbours = np.full((n_rows, width), -1, dtype=np.int64)
    values = np.zeros((n_rows, width), dtype=np.float32)
    neighbours[rows, rank] = matrix.indices[order]
    values[rows, rank] = matrix.data[order]
    return neighbours, values


def _row_starts(sorted_rows, n_rows):
    """Offsets ``(n_rows + 1,)`` of the runs of each row ``0..n_rows-1`` in a sorted row array."""
    return np.searchsorted(sorted_rows, np.arange(n_rows + 1)).astype(np.int64)
