"""Top-k selection: the one ranking rule of every recommender, in row blocks sized by working memory.

Every recommender of the package turns a block of scores (rows = sessions or users, columns =
item codes) into its ``k`` best item codes with :func:`top_k`, so that all of them break ties
the same way and fall back on the same popularity order:

1. candidates are the items whose score is above ``min_score`` (0 for the non-negative scores of
   the neighbourhood and popularity models: an item they never scored is no candidate; ``-inf``
   for a network's logits: every item is one, except those set to ``-inf``, e.g. a user's
   training items);
2. candidates come first, by decreasing score, ties broken by increasing code (``classes_``
   order, as :func:`numpy.argmax` of ``predict_proba`` does);
3. the places left, when a row has fewer than ``k`` candidates, are filled with the ``fallback``
   items (most popular first) not yet listed.

:func:`row_blocks` cuts ``n_rows`` rows of ``n_columns`` float64 scores into slices that fit in
scikit-learn's ``working_memory`` (:func:`sklearn.get_config`), as
:meth:`~sklearn.neighbors.NearestNeighbors.kneighbors` does.
"""
import numpy as np
import scipy.sparse as sp
import torch
from sklearn.utils import gen_batches
from sklearn.utils._chunking import get_chunk_n_rows

__all__ = ["row_blocks", "top_k"]


def row_blocks(n_rows, n_columns, *, max_rows=None):
    """Slices of ``range(n_rows)`` whose ``(rows, n_columns)`` float64 score block fits in memory.

    Parameters
    ----------
    n_rows : int
        Number of rows to rank.
    n_columns : int
        Scores per row (the catalogue size).
    max_rows : int or None, default=None
        Upper bound on the rows of a block (e.g. an estimator's ``batch_size``).

    Returns
    -------
    blocks : generator of slice
        Consecutive slices covering ``range(n_rows)``.
    """
    if n_rows <= 0:
        return iter(())
    rows = get_chunk_n_rows(row_bytes=8 * max(int(n_columns), 1), max_n_rows=max_rows)
    return gen_batches(int(n_rows), max(int(rows), 1))


def top_k(scores, k, fallback, *, min_score=0.0, n_rows=None):
    """Codes of the ``k`` best items of each row under the package's ranking rule.

    Parameters
    ----------
    scores : ndarray, torch.Tensor or scipy sparse matrix of shape (n_rows, n_items)
        Scores of one block of rows, higher is better. A sparse matrix holds the candidates'
        scores only.
    k : int
        Items per row, ``1 <= k <= n_items``.
    fallback : ndarray of shape (>= k,)
        Item codes filling the places of rows with fewer than ``k`` candidates, best first
        (the most popular items).
    min_score : float, default=0.0
        Items scoring ``<= min_score`` are no candidates; ``-inf`` makes every finite score one.
    n_rows : int or None, default=None
        With a dense ``(1, n_items)`` ``scores``: the number of rows sharing that row.

    Returns
    -------
    codes : ndarray of shape (n_rows, k), int64
    """
    return _top_k(scores, n_rows, k, np.asarray(fallback, dtype=np.int64)[:k], min_score)


def _top_k(scores, n_rows, k, fallback, min_score):
    if isinstance(scores, torch.Tensor):
        scores = scores.detach().cpu().numpy()
    if sp.issparse(scores):
        csr = sp.csr_matrix(scores)
        n_rows = csr.shape[0]
        rows = np.repeat(np.arange(n_rows, dtype=np.int64), np.diff(csr.indptr))
        cols, vals = csr.indices.astype(np.int64), csr.data
        keep = vals > min_score
        rows, cols, vals = rows[keep], cols[keep], vals[keep]
        is_candidate = lambda r, c: np.asarray(csr[r][:, c].toarray() > min_score)
    else:
        scores = np.asarray(scores)
        if n_rows is not None and scores.shape[0] == 1 and n_rows != 1:
            return np.repeat(_top_k(scores, 1, k, fallback, min_score), n_rows, axis=0)
        n_rows = scores.shape[0]
        rows, cols, vals = _dense_candidates(scores, k, min_score)
        is_candidate = lambda r, c: scores[r][:, c] > min_score
    order = np.lexsort((cols, -vals, rows))  # by row, score decreasing, code increasing
    rows, cols = rows[order], cols[order]
    starts = np.searchsorted(rows, np.arange(n_rows + 1))
    rank = np.arange(len(rows)) - starts[rows]
    keep = rank < k
    out = np.empty((n_rows, k), dtype=np.int64)
    out[rows[keep], rank[keep]] = cols[keep]
    n_listed = np.minimum(np.diff(starts), k)
    short = np.flatnonzero(n_listed < k)
    if short.size:  # fill with the fallback items that are no candidates (hence not listed)
        free = ~is_candidate(short, fallback)
        fill_rank = n_listed[short, None] + np.cumsum(free, axis=1) - 1
        place = free & (fill_rank < k)
        r, c = np.nonzero(place)
        out[short[r], fill_rank[r, c]] = fallback[c]
    return out


def _dense_candidates(scores, k, min_score):
    """``(rows, cols, vals)`` of the candidates of a dense block that may rank in the top ``k``.

    The ``k`` largest of each row by :func:`torch.topk`, plus, in the rows where the ``k``-th
    and ``(k+1)``-th scores tie (and are candidates), every item tied with the ``k``-th, so that
    ties are broken by code afterwards whatever order ``topk`` returns them in.
    """
    n_items = scores.shape[1]
    if k >= n_items:
        rows, cols = np.nonzero(scores > min_score)
        return rows, cols, scores[rows, cols]
    top, top_cols = torch.topk(torch.from_numpy(np.ascontiguousarray(scores)), k + 1, dim=1, sorted=True)
    top, top_cols = top.numpy(), top_cols.numpy()
    kth = top[:, k - 1]
    tied = (kth == top[:, k]) & (kth > min_score)
    clear = np.flatnonzero(~tied)
    rows = np.repeat(clear, k)
    cols, vals = top_cols[clear, :k].ravel().astype(np.int64), top[clear, :k].ravel()
    keep = vals > min_score
    rows, cols, vals = rows[keep], cols[keep], vals[keep]
    tied = np.flatnonzero(tied)
    if tied.size:  # the k-th score ties with items beyond the k-th: every item tied with it competes
        block = scores[tied]
        r, c = np.nonzero(block >= kth[tied, None])
        rows, cols = np.concatenate([rows, tied[r]]), np.concatenate([cols, c.astype(np.int64)])
        vals = np.concatenate([vals, block[r, c]])
    return rows, cols, vals
