"""Training-free graph-filter recommenders of user–item graphs (GF-CF)."""
from numbers import Integral, Real
from typing import ClassVar

import numpy as np
import scipy.sparse as sp
from sklearn.base import _fit_context
from sklearn.utils import gen_batches
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.extmath import randomized_svd

from ._embedder import _ID_COLUMNS_DOC, _BaseBipartiteRecommender

__all__ = ["GFCFRecommender"]

#: Bytes of the dense ``(n_users, rows)`` block of ``R̃ r_uᵀ`` computed at once while scoring.
_BLOCK_BYTES = 64 * 2**20


def _inv_sqrt(degree):
    """``degree ** -0.5`` with 0 for zero degrees (nodes whose edges all weigh 0)."""
    out = np.zeros_like(degree, dtype=np.float64)
    np.power(degree, -0.5, out=out, where=degree > 0)
    return out


class GFCFRecommender(_BaseBipartiteRecommender):
    __doc__ = """GF-CF: a training-free graph filter on the normalised user–item matrix (Shen et al., 2021).

    With ``R`` the ``(n_users, n_items)`` interaction matrix of the training edges and
    ``D_u``, ``D_i`` its row and column sums (user and item degrees), the normalised matrix is
    ``R̃ = D_u^{-1/2} R D_i^{-1/2}``. A user with row ``r_u`` scores the items

    ``s_u = r_u R̃ᵀR̃ + alpha · r_u D_i^{-1/2} Vᵀ D_i^{1/2}``,

    the linear filter ``R̃ᵀR̃`` (item–item co-occurrence, normalised on both sides) plus the ideal
    low-pass filter: the projection on the top ``n_components`` right singular vectors ``V`` of
    ``R̃``. Nothing is trained: ``fit`` normalises ``R`` and computes a truncated SVD, in seconds
    where graph neural networks take minutes.

    Parameters
    ----------
    n_components : int, default=256
        Singular vectors ``k`` of the ideal low-pass filter (the paper's 256); at most
        ``min(n_users, n_items)`` are used (``n_components_``).
    alpha : float, default=0.3
        Weight of the ideal low-pass filter (the paper's 0.3); 0 keeps the linear filter alone
        and skips the SVD.
    n_iter : int or "auto", default="auto"
        Power iterations of the randomized SVD (:func:`~sklearn.utils.extmath.randomized_svd`;
        ``"auto"``: 7 when ``n_components`` is below a tenth of ``min(n_users, n_items)``, else 4).
    random_state : int, RandomState instance or None, default=None
        Seeds the random projection of the randomized SVD. Pass an int for reproducible results:
        the same ``random_state`` and data give identical recommendations.
""" + _ID_COLUMNS_DOC + """    weight_column : str or None, default=None
        Optional column of non-negative edge weights, the entries of ``R`` (repeated pairs add
        up); None gives the paper's binary ``R`` (one per distinct pair).

    Attributes
    ----------
    users_, classes_, n_users_, n_items_, user_vocabulary_, item_vocabulary_, graph_
        As in :class:`DisentangledGraphEmbedder`.
    item_counts_, user_counts_ : ndarray of shape (n_items,) and (n_users,), int64
        Users per item (the fallback popularity ranking) and items per user.
    interactions_ : scipy.sparse.csr_matrix of shape (n_users, n_items), float64
        The interaction matrix ``R``.
    normalized_interactions_ : scipy.sparse.csr_matrix of shape (n_users, n_items), float64
        ``R̃ = D_u^{-1/2} R D_i^{-1/2}``.
    item_degree_ : ndarray of shape (n_items,), float64
        Column sums of ``R``, the diagonal of ``D_i`` (``item_counts_`` without weights).
    n_components_ : int
        Singular vectors kept: ``min(n_components, n_users, n_items)``, 0 when ``alpha=0``.
    components_ : ndarray of shape (n_components_, n_items), float64
        The top right singular vectors of ``R̃`` (rows of ``Vᵀ``), by decreasing singular value.
    singular_values_ : ndarray of shape (n_components_,), float64
        The matching singular values (the first is 1: ``R̃``'s spectrum lies in ``[0, 1]``).

    See Also
    --------
    LightGCNRecommender : The trained graph convolution whose propagation GF-CF solves in closed form.
    MostPopularRecommender, BPRMatrixFactorization, DisentangledGraphEmbedder : Same API.

    Notes
    -----
    **Cost.** ``R̃ᵀR̃`` (dense ``n_items²``) is never built: a block of users is scored as
    ``((R̃ r_uᵀ)ᵀ R̃)`` with two sparse products, ``O(nnz(R))`` per user, and the ideal term
    as ``(r_u D_i^{-1/2} V)(Vᵀ D_i^{1/2})``, ``O(k n_items)`` per user. ``fit`` holds ``R``,
    ``R̃`` and ``k n_items`` floats: on 30,000 users, 40,000 items and 1M edges it took 17-39 s
    (two shared cores) and peaked at 0.86 GiB, the edges included.

    **SVD.** The paper's code computes an exact truncated SVD (Lanczos); here it is randomized
    (Halko et al.), ``O(nnz(R) k)`` per power iteration. On MovieLens-100k both give the same
    Recall@20 and NDCG@20 (within 0.003); on the 1M-edge graph ARPACK
    (:func:`scipy.sparse.linalg.svds`) took 188 s, the randomized SVD 10 s (4 power iterations)
    or 17 s (7, what ``"auto"`` picks there), on the same machine.

    **Unseen ids.** Users unseen in ``fit`` get the popularity ranking (``item_counts_``);
    items never seen in ``fit`` are never recommended. A user's ``r_u`` is their training row,
    so a new user's interactions need a refit.

    References
    ----------
    Y. Shen, Y. Wu, Y. Zhang, C. Shan, J. Zhang, K. B. Letaief, D. Li. How Powerful is Graph
    Convolution for Recommendation? CIKM 2021.
    N. Halko, P.-G. Martinsson, J. A. Tropp. Finding structure with randomness: probabilistic
    algorithms for constructing approximate matrix decompositions. SIAM Review, 2011.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn_ubergnn.disentangled import GFCFRecommender
    >>> X = pd.DataFrame({"user": [1, 1, 2, 2, 3], "item": ["a", "b", "b", "c", "a"]})
    >>> GFCFRecommender(random_state=0).fit(X).recommend([1, 3, 99], k=2)
    array([['c', 'a'],
           ['b', 'c'],
           ['a', 'b']], dtype=object)
    """

    _parameter_constraints: ClassVar[dict] = {
        **_BaseBipartiteRecommender._parameter_constraints,
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "n_iter": [Interval(Integral, 0, None, closed="left"), StrOptions({"auto"})],
        "random_state": ["random_state"],
    }

    def __init__(self, *, n_components=256, alpha=0.3, n_iter="auto", random_state=None, user_column="user",
                 item_column="item", weight_column=None):
        self.n_components = n_components
        self.alpha = alpha
        self.n_iter = n_iter
        self.random_state = random_state
        self.user_column = user_column
        self.item_column = item_column
        self.weight_column = weight_column

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Normalise the interaction matrix of the edge DataFrame ``X`` and take its truncated SVD.

        Parameters
        ----------
        X : DataFrame
            Training edges with ``user_column`` and ``item_column`` (and ``weight_column``).
        y : None
            Ignored.

        Returns
        -------
        self : GFCFRecommender
            The fitted recommender.
        """
        return self._fit_edges(X)

    def _fit_graph(self, graph):
        shape = (graph.n_users, graph.n_items)
        weight = graph.weight.astype(np.float64)
        self.interactions_ = sp.csr_matrix((weight, graph.item, graph.indptr), shape=shape)
        user_degree = np.bincount(graph.user, weights=weight, minlength=graph.n_users)
        self.item_degree_ = np.bincount(graph.item, weights=weight, minlength=graph.n_items)
        self.normalized_interactions_ = sp.csr_matrix(
            (weight * _inv_sqrt(user_degree)[graph.user] * _inv_sqrt(self.item_degree_)[graph.item],
             graph.item, graph.indptr), shape=shape)
        self.n_components_ = min(self.n_components, *shape) if self.alpha > 0 else 0
        if self.n_components_:
            _, self.singular_values_, self.components_ = randomized_svd(
                self.normalized_interactions_, self.n_components_, n_iter=self.n_iter,
                random_state=self.random_state)
        else:
            self.singular_values_ = np.zeros(0)
            self.components_ = np.zeros((0, graph.n_items))

    def _user_scores(self, codes):
        rows = self.interactions_[codes]
        norm = self.normalized_interactions_
        # D_i^{-1/2} V and alpha V^T D_i^{1/2}, once per call (k * n_items each)
        left = self.components_.T * _inv_sqrt(self.item_degree_)[:, None]
        right = self.components_ * (self.alpha * np.sqrt(self.item_degree_))
        scores = np.empty((len(codes), self.n_items_))
        # Blocks of users small enough for the dense (n_users, block) product R̃ r_u^T.
        for block in gen_batches(len(codes), max(1, _BLOCK_BYTES // (8 * self.n_users_))):
            r = rows[block]
            # linear filter r R̃^T R̃ = (R̃^T (R̃ r^T))^T: two sparse products, never the n_items^2 matrix
            scores[block] = (norm.T @ (norm @ r.T).toarray()).T
            if self.n_components_:
                scores[block] += (r @ left) @ right  # ideal low-pass filter r D^{-1/2} V V^T D^{1/2}
        return scores
