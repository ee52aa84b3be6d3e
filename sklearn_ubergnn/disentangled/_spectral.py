"""The normalised interaction matrix of a user–item graph and its leading singular vectors.

``R̃ = D_u^{-1/2} R D_i^{-1/2}`` is what GF-CF filters (:class:`GFCFRecommender`: its linear filter
``R̃ᵀR̃`` and the ideal low-pass filter of its top right singular vectors) and what
:class:`DisentangledGraphEmbedder` starts from (:func:`spectral_start`).
"""
import numpy as np
import scipy.sparse as sp
from sklearn.utils.extmath import randomized_svd

from .._arrays import offsets_from_lengths

__all__ = ["spectral_start"]

#: Power iterations of the randomized SVD of the spectral start.
_START_N_ITER = 4


def _inv_sqrt(degree):
    """``degree ** -0.5`` with 0 for zero degrees (nodes whose edges all weigh 0)."""
    out = np.zeros_like(degree, dtype=np.float64)
    np.power(degree, -0.5, out=out, where=degree > 0)
    return out


def _normalized(weight, user, item, n_users, n_items):
    """``R``, ``R̃ = D_u^{-1/2} R D_i^{-1/2}`` (CSR) and the item degrees of edges sorted by user."""
    shape = (n_users, n_items)
    indptr = offsets_from_lengths(np.bincount(user, minlength=n_users))
    user_degree = np.bincount(user, weights=weight, minlength=n_users)
    item_degree = np.bincount(item, weights=weight, minlength=n_items)
    matrix = sp.csr_matrix((weight, item, indptr), shape=shape)
    norm = sp.csr_matrix((weight * _inv_sqrt(user_degree)[user] * _inv_sqrt(item_degree)[item], item, indptr),
                         shape=shape)
    return matrix, norm, item_degree


def spectral_start(graph, n_components, scale, random_state=None):
    """Starting ID vectors of the users and items of ``graph``: the leading singular vectors of ``R̃``.

    With the truncated SVD ``R̃ ≈ U Σ Vᵀ`` of rank ``k = min(n_components, n_users, n_items)``,
    users start at the rows of ``U Σ^{1/2}`` and items at those of ``V Σ^{1/2}``, so that a
    user's and an item's dot product is the rank-``k`` reconstruction of their entry of ``R̃``
    (the ideal low-pass filter of GF-CF), and the whole table is rescaled to the standard
    deviation ``scale`` of the random start it replaces. A randomized SVD (Halko et al., 2011;
    four power iterations) takes seconds on a million edges.

    Parameters
    ----------
    graph : BipartiteGraph
        The training graph (codes; edge weights as in ``graph.weight``).
    n_components : int
        Columns wanted (the embedding size).
    scale : float
        Standard deviation of the returned table.
    random_state : int, RandomState instance or None, default=None
        Seeds the randomized SVD.

    Returns
    -------
    start : ndarray of shape (n_users + n_items, k), float32
        Users first, then items. Rows of nodes whose edges all weigh 0 are zero.
    """
    _, norm, _ = _normalized(graph.weight.astype(np.float64), graph.user, graph.item, graph.n_users,
                             graph.n_items)
    k = min(int(n_components), graph.n_users, graph.n_items)
    u, sigma, vt = randomized_svd(norm, k, n_iter=_START_N_ITER, random_state=random_state)
    root = np.sqrt(sigma)
    start = np.vstack([u * root, vt.T * root])
    std = start.std()
    return (start * (scale / std if std > 0 else 0.0)).astype(np.float32)
