"""Disentangled graph embedder for user–item graphs, and the base class of every bipartite recommender."""
from numbers import Integral, Real
from typing import ClassVar

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .._arrays import group_targets
from .._docstrings import fill_doc
from .._ranking import row_blocks, top_k
from .._skorch import seed_from
from .._threads import uses_torch_threads
from .._validation import check_ids, check_k, check_same_id_kind, require_columns
from .._vocabulary import ItemVocabulary
from ..base import TRAINING_CONSTRAINTS, _NetEstimator
from ..graphs import NeighborSampler, build_bipartite_graph
from ..graphs._sampling import node_blocks
from ..metrics import recall_at_k
from ..nn import BPRLoss, DisentangledGraphNet, SampledSoftmaxLoss, channel_distance_correlation
from ._data import EdgeSource, GraphSource, UserVectorSource, subgraph_fields
from ._spectral import spectral_start

__all__ = ["DisentangledGraphEmbedder"]

_LOSSES = {"bpr": BPRLoss, "softmax": SampledSoftmaxLoss}

#: In-edges per block when the final node vectors are computed block after block.
_EMBED_BLOCK_EDGES = 1 << 18
#: Standard deviation of the ID embeddings' start (random or spectral).
_INIT_STD = 0.1
#: ``max_epochs="auto"``: passes over the edges, capped at ``_AUTO_MAX_EPOCHS``, that make at least
#: ``_AUTO_STEPS`` optimisation steps (10 passes up to about 400,000 edges at the default batch).
_AUTO_STEPS = 500
_AUTO_MAX_EPOCHS = 10


def check_user_ids(X, user_column, *, input_name="users"):
    """Raw user ids from a 1-D sequence, a one-column 2-D array or a DataFrame with ``user_column``."""
    if isinstance(X, pd.DataFrame):
        if user_column not in X.columns:
            raise ValueError(
                f"X is a DataFrame without the user column {user_column!r}; its columns are "
                f"{list(X.columns)}. Pass the user ids (1-D) or set user_column."
            )
        return check_ids(X[user_column], input_name=f"X[{user_column!r}]")
    if isinstance(X, np.ndarray) and X.ndim == 2:
        if X.shape[1] != 1:
            raise ValueError(f"X must hold one user id per row; got a 2-D array of shape {X.shape}.")
        X = X[:, 0]
    return check_ids(X, input_name=input_name)


# ------------------------------------------------------------------------------------------------
# base class: ids in, ids out
# ------------------------------------------------------------------------------------------------
class _BaseBipartiteRecommender(BaseEstimator):
    """Input handling, ranking and scoring shared by every bipartite (user–item) recommender.

    Subclasses implement ``_fit_graph(graph)`` (learn from the encoded graph) and
    ``_user_scores(user_codes)`` (``(b, n_items)`` scores of known users).
    """

    _parameter_constraints: ClassVar[dict] = {
        "user_column": [str, Integral],
        "item_column": [str, Integral],
        "weight_column": [str, Integral, None],
    }

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.target_tags.required = False
        return tags

    # ---------------------------------------------------------------- validation
    def _check_edges(self, X, *, reset, input_name="X"):
        """Validate an edge DataFrame: ``(raw users, raw items, weights or None)`` (copies)."""
        if not isinstance(X, pd.DataFrame):
            raise TypeError(
                f"{input_name} must be a pandas DataFrame of edges with columns {self.user_column!r} and "
                f"{self.item_column!r}; got {type(X).__name__}. Build one with "
                "pd.DataFrame({'user': users, 'item': items})."
            )
        needed = [self.user_column, self.item_column]
        if self.weight_column is not None:
            needed.append(self.weight_column)
        require_columns(X, needed, input_name, "Rename them or set user_column / item_column / weight_column.")
        if len(X) == 0:
            raise ValueError(f"{input_name} must contain at least one edge; got an empty DataFrame.")
        users = check_ids(X[self.user_column], input_name=f"{input_name}[{self.user_column!r}]")
        items = check_ids(X[self.item_column], input_name=f"{input_name}[{self.item_column!r}]")
        weight = None
        if self.weight_column is not None and reset:
            col = X[self.weight_column]
            if not pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
                raise TypeError(
                    f"{input_name}[{self.weight_column!r}] must be numeric; got dtype {col.dtype}."
                )
            weight = col.to_numpy(dtype=np.float64, copy=True)
            if not np.isfinite(weight).all() or (weight < 0).any():
                raise ValueError(
                    f"{input_name}[{self.weight_column!r}] must hold finite, non-negative edge weights; "
                    f"got values in [{np.nanmin(weight)}, {np.nanmax(weight)}] with "
                    f"{int((~np.isfinite(weight)).sum())} missing or infinite."
                )
        if not reset:
            self._check_kind(users, self.user_vocabulary_, "users")
        return users, items, weight

    @staticmethod
    def _check_kind(ids, vocabulary, what):
        check_same_id_kind(vocabulary.classes_, ids, f"the {what} seen in fit", f"the {what} given")

    def _check_users(self, X):
        """Raw user ids of ``X`` (see :func:`check_user_ids`), of the kind seen in ``fit``."""
        ids = check_user_ids(X, self.user_column)
        self._check_kind(ids, self.user_vocabulary_, "users")
        return ids

    def _check_items(self, items):
        ids = check_ids(items, input_name="items")
        self._check_kind(ids, self.item_vocabulary_, "items")
        return ids

    # ---------------------------------------------------------------- fit
    def _fit_edges(self, X):
        users, items, weight = self._check_edges(X, reset=True)
        self.user_vocabulary_ = ItemVocabulary().fit(users)
        self.item_vocabulary_ = ItemVocabulary().fit(items)
        self.users_ = self.user_vocabulary_.classes_
        self.classes_ = self.item_vocabulary_.classes_
        self.n_users_, self.n_items_ = len(self.users_), len(self.classes_)
        self.graph_ = build_bipartite_graph(
            self.user_vocabulary_.transform(users), self.item_vocabulary_.transform(items),
            self.n_users_, self.n_items_, weight,
        )
        self.item_counts_ = self.graph_.item_degree()
        self.user_counts_ = self.graph_.user_degree()
        self._fit_graph(self.graph_)
        return self

    # ---------------------------------------------------------------- ranking
    @uses_torch_threads
    def recommend(self, X, k=20, exclude_seen=True):
        """Top-``k`` items of each user, best first (raw item ids).

        Parameters
        ----------
        X : array-like of shape (n_users,) or DataFrame
            User ids, or a DataFrame whose ``user_column`` holds them (one row per user asked).
        k : int, default=20
            Number of items per user; at most ``n_items_``.
        exclude_seen : bool, default=True
            Leave out the items each user has in the training graph (a user who has seen almost
            the whole catalogue gets seen items in the last ranks, most popular first).

        Returns
        -------
        ranked : ndarray of shape (n_users, min(k, ``n_items_``))
            Raw item ids, best first; equal scores in ``classes_`` order. Users unseen in ``fit``
            get the most popular items (``item_counts_``, ties in ``classes_`` order).
        """
        check_is_fitted(self)
        k = min(check_k(k), self.n_items_)
        codes = self.user_vocabulary_.transform(self._check_users(X), input_name="users")
        popular = np.argsort(-self.item_counts_, kind="stable")
        out = np.empty((len(codes), k), dtype=np.int64)
        for rows in row_blocks(len(codes), self.n_items_):
            block = codes[rows]
            known = block >= 0
            # Unknown users have no candidate: the popularity fallback fills their rows.
            scores = np.full((len(block), self.n_items_), -np.inf)
            if known.any():
                scores[known] = self._user_scores(block[known])
            if exclude_seen:
                seen_rows, seen_items = self.graph_.seen_pairs(block)
                scores[seen_rows, seen_items] = -np.inf
            out[rows] = top_k(scores, k, popular, min_score=-np.inf)
        return self.classes_[out]

    def score(self, X, y=None, k=20):
        """Recall@``k`` (default 20) of :meth:`recommend` on held-out edges.

        Parameters
        ----------
        X : DataFrame
            Held-out edges with ``user_column`` and ``item_column`` (e.g. the test part of a
            per-user split). Every user of ``X`` is ranked once, training items excluded; its
            targets are its held-out items (items unseen in ``fit`` count as misses). Users unseen
            in ``fit`` get the popularity ranking.
        y : None
            Ignored.
        k : int, default=20
            Cut-off.

        Returns
        -------
        score : float
            Mean Recall@k over the users of ``X``.
        """
        check_is_fitted(self)
        users, items, _ = self._check_edges(X, reset=False)
        self._check_kind(items, self.item_vocabulary_, "items")
        test_users, targets = group_targets(users, items)
        return recall_at_k(targets, self.recommend(test_users, k=k), k=k)


class _BaseGraphEmbedder(ClassNamePrefixFeaturesOutMixin, TransformerMixin, _NetEstimator,
                         _BaseBipartiteRecommender):
    """A bipartite recommender that learns one vector per user and per item with a link-prediction module.

    Subclasses train their module with :meth:`_train_module` in ``_fit_graph``, which sets
    ``user_embeddings_`` and ``item_embeddings_``; scores and probabilities come from the module
    (its ``all_pair_scores`` and ``item_proba`` on those vectors).
    """

    _training_method = "pair_logits"  # the softmax criterion fuses the negatives' logits with the loss

    def __init__(self, *, embedding_dim, loss, n_negatives, temperature, max_epochs, batch_size, lr, weight_decay,
                 callbacks, device, random_state, verbose, n_jobs, user_column, item_column, weight_column):
        # The parameters every embedder has (each subclass lists them, with its defaults, in its own
        # signature, which is what get_params reads).
        self.embedding_dim = embedding_dim
        self.loss = loss
        self.n_negatives = n_negatives
        self.temperature = temperature
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.callbacks = callbacks
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.n_jobs = n_jobs
        self.user_column = user_column
        self.item_column = item_column
        self.weight_column = weight_column

    @_fit_context(prefer_skip_nested_validation=True)
    @uses_torch_threads
    def fit(self, X, y=None):
        """Learn the vocabularies, the graph and the embeddings from the training edges ``X``.

        Parameters
        ----------
        X : DataFrame of shape (n_interactions, n_columns)
            One row per interaction, with ``user_column`` and ``item_column`` (raw ids) and,
            if set, ``weight_column``. Repeated pairs are merged. Never modified.
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted embedder.
        """
        self._check_params()
        return self._fit_edges(X)

    def _check_params(self):
        """Check what ``_parameter_constraints`` cannot (relations between parameters); nothing here."""

    def _module_rows(self, codes, method):
        """``(b, n_items)`` float64 output of the module's ``method`` for the known users ``codes``."""
        source = UserVectorSource(self.user_embeddings_[codes], self.item_embeddings_)
        return np.concatenate([out.numpy() for out in self._outputs(source, method)])

    def _user_scores(self, codes):
        """Ranking scores of known users: the module's pair scores against the whole catalogue."""
        return self._module_rows(codes, "all_pair_scores")

    def transform(self, X):
        """User embeddings.

        Parameters
        ----------
        X : array-like of shape (n_samples,) or DataFrame
            User ids, or a DataFrame whose ``user_column`` holds them (so ``fit_transform`` on an
            edge DataFrame gives the user vector of every edge).

        Returns
        -------
        embeddings : ndarray of shape (n_samples, embedding_dim), float32
            Users unseen in ``fit`` get a zero vector.
        """
        check_is_fitted(self)
        codes = self.user_vocabulary_.transform(self._check_users(X), input_name="users")
        return self._lookup(self.user_embeddings_, codes)

    def transform_items(self, items):
        """Item embeddings, ``(n_items_asked, embedding_dim)`` float32; unseen items get zeros."""
        check_is_fitted(self)
        codes = self.item_vocabulary_.transform(self._check_items(items), input_name="items")
        return self._lookup(self.item_embeddings_, codes)

    @uses_torch_threads
    def item_proba(self, X, items):
        """The model's probability of each of ``items`` being a user's next interaction.

        ``softmax_j(score(u, v_j) / temperature)`` over the whole catalogue, with the score and the
        temperature the module was trained with (for ``channel_score="sum"``, ``u . v / K``), read
        at ``items``. Unlike the raw dot product ``u . v`` (which softmax and BPR training leave
        free up to a per-user shift, so that it ranks items for one user but not users for one item), these
        probabilities are comparable across users. Computed in blocks of users, never as a full
        users x catalogue matrix at once.

        Parameters
        ----------
        X : array-like of shape (n_users,) or DataFrame
            User ids, or a DataFrame whose ``user_column`` holds them.
        items : array-like of shape (n_items_asked,)
            Raw item ids; items unseen in ``fit`` get probability 0.

        Returns
        -------
        proba : ndarray of shape (n_users, n_items_asked), float64
            Users unseen in ``fit`` get the popularity distribution (``item_counts_`` normalised).
        """
        check_is_fitted(self)
        codes = self.user_vocabulary_.transform(self._check_users(X), input_name="users")
        item_codes = self.item_vocabulary_.transform(self._check_items(items), input_name="items")
        known_item = item_codes >= 0
        out = np.zeros((len(codes), len(item_codes)), dtype=np.float64)
        popularity = self.item_counts_ / self.item_counts_.sum()
        out[np.ix_(codes < 0, known_item)] = popularity[item_codes[known_item]]
        known = np.flatnonzero(codes >= 0)
        columns, asked = np.flatnonzero(known_item), item_codes[known_item]
        for block in row_blocks(len(known), self.n_items_):
            rows = known[block]
            out[np.ix_(rows, columns)] = self._module_rows(codes[rows], "item_proba")[:, asked]
        return out

    @staticmethod
    def _lookup(table, codes):
        out = np.zeros((len(codes), table.shape[1]), dtype=np.float32)
        known = codes >= 0
        out[known] = table[codes[known]]
        return out

    # ---------------------------------------------------------------- shared training
    def _train_module(self, module, graph_fields, *, sampler=None, n_hops=1, max_neighbors=None, **module_params):
        """Train a link-prediction module on the training edges; set ``net_``, ``history_`` and the embeddings.

        Every positive edge is a sample; negatives are drawn per batch (seeded), ``n_negatives``
        shared by the batch (``loss="softmax"``, None: every item) or per positive (``"bpr"``,
        None: one). ``sampler`` (a :class:`~sklearn_ubergnn.graphs.NeighborSampler` of the graph,
        or None) goes to :meth:`_set_embeddings`; with ``max_neighbors`` too, each step runs on
        the ``n_hops`` neighbourhood of its nodes, ``max_neighbors`` in-edges per node, instead of
        the whole graph.
        """
        seed = seed_from(self.random_state)
        n_negatives = self.n_negatives
        if self.loss == "bpr" and n_negatives is None:
            n_negatives = 1
        source = EdgeSource(self.graph_.user, self.graph_.item, graph_fields, self.n_items_, n_negatives,
                            self.loss == "softmax", seed + 1,
                            sampler=None if max_neighbors is None else sampler, n_users=self.n_users_,
                            n_hops=n_hops, max_neighbors=max_neighbors)
        self.n_epochs_ = self._resolve_epochs(len(source))
        net = self._make_net(module, criterion=_LOSSES[self.loss], seed=seed, n_samples=len(source),
                             validation=False, max_epochs=self.n_epochs_, n_users=self.n_users_,
                             n_items=self.n_items_, **module_params)
        self._fit_net(net, source, seed)
        if module_params.get("init_embedding") is not None:
            # the start lives on in the trained weights: a second copy in the net's arguments would
            # only grow the pickle (by a third)
            self.net_.module__init_embedding = None
        self._set_embeddings(graph_fields, sampler)

    def _resolve_epochs(self, n_edges):
        """``max_epochs``, or with ``"auto"`` the passes that make about ``_AUTO_STEPS`` steps (at most 10)."""
        if self.max_epochs != "auto":
            return int(self.max_epochs)
        steps_per_epoch = -(-n_edges // self.batch_size)
        return int(min(_AUTO_MAX_EPOCHS, -(-_AUTO_STEPS // steps_per_epoch)))

    def _set_embeddings(self, graph_fields, sampler):
        """The module's node vectors on the whole graph (subclasses may go block by block with ``sampler``)."""
        (h,) = self._outputs(GraphSource(graph_fields), "embed")
        self._store_embeddings(h)

    def _store_embeddings(self, h):
        h = h.detach().numpy().astype(np.float32)  # a copy: never a view of the module's weights
        self.user_embeddings_ = np.ascontiguousarray(h[: self.n_users_])
        self.item_embeddings_ = np.ascontiguousarray(h[self.n_users_:])
        self._n_features_out = h.shape[1]


def _knob_constraints(*names):
    """The package's shared ``_parameter_constraints`` (``base.TRAINING_CONSTRAINTS``) of the knobs ``names``."""
    return {name: TRAINING_CONSTRAINTS[name] for name in names}


#: ``_parameter_constraints`` shared by every bipartite embedder: edge columns, training knobs, loss.
_EMBEDDER_CONSTRAINTS = {
    **_BaseBipartiteRecommender._parameter_constraints,
    **_knob_constraints("max_epochs", "batch_size", "lr", "weight_decay", "callbacks", "device", "random_state",
                        "verbose", "n_jobs"),
    "embedding_dim": [Interval(Integral, 1, None, closed="left")],
    "loss": [StrOptions(set(_LOSSES))],
    "n_negatives": [Interval(Integral, 1, None, closed="left"), None],
    "temperature": [Interval(Real, 0, None, closed="neither")],
}


#: Docstring text of the id columns, shared by the bipartite recommenders.
_ID_COLUMNS_DOC = """    user_column, item_column : str or int, default="user", "item"
        Columns of ``X`` holding the raw user and item ids (ints or strings).
"""


@fill_doc
class DisentangledGraphEmbedder(_BaseGraphEmbedder):
    __doc__ = """User and item embeddings with K disentangled channels, learned on a user–item graph.

    A graph neural network of ``n_layers`` :class:`~sklearn_ubergnn.nn.DisentangledConv` layers
    runs on the whole bipartite graph of the training edges (users and items are nodes with a
    learned ID embedding each). In every layer each node vector is split into ``n_channels``
    unit sub-vectors and refined by ``n_iterations`` of DisenGCN's neighbourhood routing: each
    neighbour is shared among the channels by a softmax over their similarities, so each
    channel gathers the neighbours that share one latent interest. The layer outputs are
    averaged; a (user, item) pair scores ``u . v``. The network is trained by link prediction:
    each training edge against sampled negative items, with a sampled softmax (default) or BPR.
    Each training step runs on the neighbourhood its batch needs, at most ``max_neighbors``
    in-edges per node, so that a step costs the same on a graph of ten million edges as on one
    of a hundred thousand.

    Parameters
    ----------
    n_channels : int, default=4
        Number of channels ``K``; must divide ``embedding_dim``.
    n_iterations : int, default=1
        Routing iterations ``T`` per layer (0: no routing and no neighbours, an ablation). One
        iteration ranks as well as two on MovieLens-100k and costs a quarter less per step.
    n_layers : int, default=1
        Number of disentangled layers ``L``.
    embedding_dim : int, default=64
        Size of the user and item vectors (``K`` channels of ``embedding_dim // K``).
    routing_temperature : float, default=1.0
        Temperature ``tau`` of the routing softmax over channels.
    attention : bool, default=False
        Also weight each neighbour by a learned attention score (claim 6 of CN111681059A).
    channel_score : {"sum", "routed"}, default="sum"
        How a (user, item) pair is scored from its channel similarities ``s_k = u_k . v_k``:
        ``"sum"`` is their mean ``u . v / K`` (ranks as the dot product); ``"routed"`` weighs them
        by the routing softmax, ``sum_k softmax_k(s / tau)_k s_k``, so a pair is explained by the
        channel the two agree on (sharper channels on planted data, but ``K`` times the cost of
        scoring, which matters with many negatives).
    loss : {"softmax", "bpr"}, default="softmax"
        ``"softmax"``: cross-entropy of each positive against ``n_negatives`` uniformly sampled
        items shared by the batch; ``"bpr"``: BPR against ``n_negatives`` items per positive (so
        set ``n_negatives=None``, one per positive, with it: the default 4,096 would be per positive).
    n_negatives : int or None, default=4096
        Negatives (see ``loss``). None: every item is a negative of every positive (the full
        softmax; with ``"bpr"``, None means one negative per positive). With ``"softmax"``, a
        catalogue of at most ``n_negatives`` items is the full softmax too; a larger one gets
        ``n_negatives`` items drawn uniformly per batch, each standing for ``n_items /
        n_negatives`` items in the loss (the logQ correction of sampled softmax), so that the
        loss estimates the full softmax. A negative equal to the positive is ignored.
    temperature : float, default=0.2
        Scores (which lie in ``[-1, 1]``) are divided by it in the loss.
    max_neighbors : int or None, default=32
        Train each step on the sub-graph its nodes need (the ``n_layers``-hop in-neighbourhood of
        the batch's users, positive and negative items), keeping at most ``max_neighbors``
        in-edges per node (drawn uniformly with replacement and weighted ``degree /
        max_neighbors``, GraphSAGE's unbiased estimate of the neighbour sum). The cost and memory
        of a step are then set by ``batch_size``, ``n_negatives`` and ``max_neighbors``, not by
        the size of the graph. None runs every step on the whole graph. The final vectors always
        use every neighbour. 32 ranks as the whole graph does on MovieLens-100k (whose users have
        85 training items on average); 16 and 24 lose 0.003 to 0.007 of Recall@20 there.
    item_bias : bool, default=True
        Add a learned bias per item to its logits: ``u . v / (K temperature) + b_v``. The bias
        carries how often an item is chosen whatever the user (its popularity), which the
        channel vectors, of bounded norm, cannot express on their own; it counts in
        :meth:`recommend` and :meth:`item_proba`, not in the vectors of :meth:`transform`. It
        lifts Recall@20 on MovieLens-100k from 0.3476 to 0.3516 and, on a sparse synthetic
        graph of 3,000 users and 4,000 items, from 0.051 (below the most-popular ranking's
        0.052) to 0.068.
    init : {"spectral", "random"}, default="spectral"
        Where the ID embeddings start. ``"spectral"``: users at the rows of ``U Σ^{1/2}`` and items
        at those of ``V Σ^{1/2}``, from the rank-``embedding_dim`` truncated SVD of the
        normalised interaction matrix ``D_u^{-1/2} R D_i^{-1/2}`` (the matrix GF-CF filters; a
        randomized SVD, seconds on a million edges), at the scale of the random start. Training
        then starts from the graph's own low-pass structure instead of noise: on MovieLens-100k
        it lifts Recall@20 from 0.352 to 0.364 at the same epochs. ``"random"``: a normal start
        (standard deviation 0.1), as in earlier versions.
    channel_independence : float, default=0.0
        Weight of an independence term in the loss (DGCF's, Wang et al. 2020): the mean distance
        correlation between every pair of channels of the final vectors of 128 users and 128
        positive items of each batch (:func:`~sklearn_ubergnn.nn.channel_distance_correlation`).
        It makes the channels carry different information, which
        :meth:`channel_correlation` measures on the fitted vectors; 0 (the default) trains
        without it. See the Notes (Channels) for what it buys and costs.
    max_epochs : int or "auto", default="auto"
        Passes over the training edges. ``"auto"``: 10, or on a large graph as many as make 500
        optimisation steps of ``batch_size`` edges (``ceil(500 / ceil(n_edges / batch_size))``:
        5 on a million edges, 1 from four million), so that the number of steps, not of passes,
        bounds the training time. On a synthetic graph of 813,611 training edges Recall@20 is
        level from the third pass to the tenth; 10 passes there take 18.5 to 21 minutes on one
        core beside a busy one, beyond issue #19's bound of 15 minutes, and 5 take 9.8.
        The passes made are ``n_epochs_``.
    batch_size : int, default=8192
        Positive edges per training step.
    lr : float, default=1e-2
        Learning rate of Adam.
    weight_decay : float, default=0.0
        L2 penalty of Adam on every parameter.
    {callbacks}
    {device}
    {random_state}
    {verbose}
    {n_jobs}
""" + _ID_COLUMNS_DOC + """    weight_column : str or None, default=None
        Optional column of non-negative edge weights: they scale the messages along the edge
        (repeated pairs add up). Positive edges are sampled uniformly whatever the weight.

    Attributes
    ----------
    users_ : ndarray of shape (n_users,)
        Sorted distinct user ids of the training edges.
    classes_ : ndarray of shape (n_items,)
        Sorted distinct item ids of the training edges (what :meth:`recommend` returns).
    n_users_, n_items_ : int
        Their numbers.
    user_vocabulary_, item_vocabulary_ : ItemVocabulary
        Raw ids <-> codes.
    graph_ : BipartiteGraph
        The training graph (distinct edges, codes).
    item_counts_ : ndarray of shape (n_items,), int64
        Users per item: the fallback popularity ranking.
    user_counts_ : ndarray of shape (n_users,), int64
        Items per user in the training graph.
    user_embeddings_ : ndarray of shape (n_users, embedding_dim), float32
    item_embeddings_ : ndarray of shape (n_items, embedding_dim), float32
        The final node vectors (computed once after training on the whole training graph).
    item_routing_, user_routing_ : ndarray of shape (n_edges, n_channels), float32
        Last-layer routing weights of every edge of ``graph_`` (in its order) as seen by the item
        (aggregating its users) and by the user (aggregating its items).
    net_ : skorch.NeuralNet
        The trained net (``net_.module_`` is a :class:`~sklearn_ubergnn.nn.DisentangledGraphNet`).
    n_epochs_ : int
        Passes made over the training edges (``max_epochs``, resolved when ``"auto"``).
    history_ : skorch.History
        Per-epoch record (``train_loss``, ``dur``).

    See Also
    --------
    DistilledBehaviorClassifier : A light per-item behaviour model distilled from this embedder.
    LightGCNRecommender, BPRMatrixFactorization, MostPopularRecommender : Baselines, same API.

    Notes
    -----
    **Unseen ids.** :meth:`transform` and :meth:`transform_items` return a zero vector for ids
    unseen in ``fit``; :meth:`recommend` ranks by popularity (``item_counts_``) for unseen
    users. Items never seen in ``fit`` are never recommended.

    **Scoring.** :meth:`score` takes a DataFrame of held-out edges and returns the Recall@20 of
    :meth:`recommend` (training items excluded), the protocol of LightGCN's papers.

    **Memory and time.** A training step holds its sub-graph (about ``(batch users + batch items
    + n_negatives) x max_neighbors`` edges) and a ``batch_size x n_negatives`` block of scores,
    whatever the size of the graph; the final vectors are computed block after block of nodes
    (about 262,144 in-edges each). The time of an epoch grows with the number of edges, and
    ``max_epochs="auto"`` makes fewer of them on a large graph. On a synthetic graph of 30,000
    users, 40,000 items and 813,611 training edges the defaults train in 9.8 minutes (5 passes of
    about 117 s) on one core while another process holds the other, and the process peaks at
    1.68 GiB, 0.42 GiB of which are the data (whole-graph steps with the full softmax: about
    15 s per step, 10 GiB). ``max_neighbors=None`` with ``n_negatives=None``, ``item_bias=False``,
    ``init="random"`` and ``max_epochs=10`` is the exact whole-graph, full-softmax training of
    earlier versions.

    **Channels.** :meth:`channel_affinity` tells which channel the routing sends an item's (or
    user's) training edges through: the last layer's routing weights, averaged over the node's
    edges (``item_routing_`` and ``user_routing_`` hold them per edge). :meth:`channel_similarity`
    reads the same from the final vectors (each channel's dot products over the node's edges), and
    :meth:`channel_correlation` measures how separate the channels of the vectors are (distance
    correlation, 0 when independent). Nothing in link prediction asks the channels to differ: on a
    graph with planted interests (``benchmarks/bipartite_channels.py``) the defaults leave them
    strongly dependent (mean distance correlation 0.64) and the argmax channel of an item says
    almost nothing of its planted interest (NMI 0.01 to 0.04). ``channel_independence`` trains the
    dependence down and makes the channels more interpretable, at some cost in ranking; it is
    therefore off by default (figures in ``benchmarks/RESULTS.md``).

    References
    ----------
    J. Ma, P. Cui, K. Kuang, X. Wang, W. Zhu. Disentangled Graph Convolutional Networks. ICML 2019.
    CN111681059A (claims): disentangled graph neural network and distilled behaviour model.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn_ubergnn.disentangled import DisentangledGraphEmbedder
    >>> X = pd.DataFrame({"user": [1, 1, 2, 2, 3], "item": ["a", "b", "b", "c", "a"]})
    >>> emb = DisentangledGraphEmbedder(embedding_dim=8, n_channels=2, max_epochs=2, random_state=0).fit(X)
    >>> emb.transform([1, 2, 99]).shape, emb.recommend([1, 99], k=1).shape
    ((3, 8), (2, 1))
    """

    _parameter_constraints: ClassVar[dict] = {
        **_EMBEDDER_CONSTRAINTS,
        "n_channels": [Interval(Integral, 1, None, closed="left")],
        "n_iterations": [Interval(Integral, 0, None, closed="left")],
        "n_layers": [Interval(Integral, 0, None, closed="left")],
        "routing_temperature": [Interval(Real, 0, None, closed="neither")],
        "attention": ["boolean"],
        "channel_score": [StrOptions({"sum", "routed"})],
        "max_neighbors": [Interval(Integral, 1, None, closed="left"), None],
        "item_bias": ["boolean"],
        "channel_independence": [Interval(Real, 0, None, closed="left")],
        "init": [StrOptions({"spectral", "random"})],
        "max_epochs": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
    }

    def __init__(self, *, n_channels=4, n_iterations=1, n_layers=1, embedding_dim=64, routing_temperature=1.0,
                 attention=False, channel_score="sum", loss="softmax", n_negatives=4096, temperature=0.2,
                 max_neighbors=32, item_bias=True, init="spectral", channel_independence=0.0, max_epochs="auto",
                 batch_size=8192, lr=1e-2, weight_decay=0.0, callbacks=None, device="cpu", random_state=None,
                 verbose=0, n_jobs=None, user_column="user", item_column="item", weight_column=None):
        self.n_channels = n_channels
        self.init = init
        self.max_neighbors = max_neighbors
        self.item_bias = item_bias
        self.channel_independence = channel_independence
        self.n_iterations = n_iterations
        self.n_layers = n_layers
        self.routing_temperature = routing_temperature
        self.attention = attention
        self.channel_score = channel_score
        super().__init__(embedding_dim=embedding_dim, loss=loss, n_negatives=n_negatives, temperature=temperature,
                         max_epochs=max_epochs, batch_size=batch_size, lr=lr, weight_decay=weight_decay,
                         callbacks=callbacks, device=device, random_state=random_state, verbose=verbose,
                         n_jobs=n_jobs, user_column=user_column, item_column=item_column, weight_column=weight_column)

    def _check_params(self):
        if self.embedding_dim % self.n_channels:
            raise ValueError(
                f"n_channels must divide embedding_dim so that every channel has the same size; got "
                f"embedding_dim={self.embedding_dim} and n_channels={self.n_channels}. E.g. use "
                f"embedding_dim={self.n_channels * max(1, self.embedding_dim // self.n_channels)}."
            )

    def _fit_graph(self, graph):
        fields = graph.to_torch()
        sampler = NeighborSampler(fields["edge_src"].numpy(), fields["edge_dst"].numpy(), graph.n_nodes,
                                  fields["edge_weight"].numpy())
        start = None
        if self.init == "spectral":
            start = torch.from_numpy(spectral_start(graph, self.embedding_dim, _INIT_STD,
                                                    random_state=seed_from(self.random_state)))
        self._train_module(
            DisentangledGraphNet, fields, sampler=sampler, n_hops=self.n_layers, max_neighbors=self.max_neighbors,
            embedding_dim=self.embedding_dim, n_channels=self.n_channels, n_layers=self.n_layers,
            n_iterations=self.n_iterations, tau=self.routing_temperature, attention=self.attention,
            temperature=self.temperature, channel_score=self.channel_score,
            item_bias=self.item_bias, independence=self.channel_independence, init_std=_INIT_STD,
            init_embedding=start,
        )

    def _set_embeddings(self, graph_fields, sampler):
        """Node vectors and last-layer routing, block after block of nodes (memory set by the block)."""
        n_nodes, E = self.graph_.n_nodes, self.graph_.n_edges
        h = np.empty((n_nodes, self.embedding_dim), dtype=np.float32)
        p = np.full((2 * E, self.n_channels), 1.0 / self.n_channels, dtype=np.float32)
        for block in node_blocks(sampler.in_degree(np.arange(n_nodes)), _EMBED_BLOCK_EDGES):
            sub = sampler.sample(block, self.n_layers)
            ((h_sub, p_sub),) = self._outputs(GraphSource(subgraph_fields(sub)), "embed_and_route")
            h[block] = h_sub.numpy()[sub.locate(block)]
            p[sub.edge_id[:sub.n_target_edges]] = p_sub.numpy()[:sub.n_target_edges]
        self._store_embeddings(torch.from_numpy(h))
        # graph_.to_torch(): edges [0, E) are item -> user in graph order (the users' routing),
        # edges [E, 2E) are user -> item sorted by item (the items' routing).
        order = np.argsort(self.graph_.item, kind="stable")
        self.user_routing_ = np.ascontiguousarray(p[:E])
        self.item_routing_ = np.empty((E, self.n_channels), dtype=np.float32)
        self.item_routing_[order] = p[E:]

    @fill_doc
    def channel_affinity(self, items=None, *, users=None):
        """Through which channels the network routes the training edges of some items (or users).

        The routing weights ``p_{ij,k}`` of the last layer's last iteration (how much neighbour
        ``j`` contributes to channel ``k`` of node ``i``) are averaged over the training edges of
        each item (or user). With ``n_iterations=0`` or ``n_layers=0`` there is no routing and
        every row is uniform.

        Parameters
        ----------
        {channel_nodes}

        Returns
        -------
        affinity : ndarray of shape (n, n_channels), float64
            Rows sum to 1 for nodes with training edges; zeros for unseen ids.
        """
        check_is_fitted(self)
        codes, _, is_user = self._channel_nodes(items, users)
        total = self._sum_per_node(self.user_routing_ if is_user else self.item_routing_, is_user)
        return self._node_rows(total / np.maximum(total.sum(axis=1, keepdims=True), 1e-300), codes)

    def _sum_per_node(self, edge_values, is_user):
        """``(n_users or n_items, K)`` sums of the ``(n_edges, K)`` values of ``graph_``'s edges per node."""
        node, n = (self.graph_.user, self.n_users_) if is_user else (self.graph_.item, self.n_items_)
        return np.stack([np.bincount(node, weights=edge_values[:, k], minlength=n)
                         for k in range(edge_values.shape[1])], axis=1)

    @staticmethod
    def _node_rows(table, codes):
        """Rows of ``table`` for ``codes`` (float64), zeros for unseen ids (code -1)."""
        out = np.zeros((len(codes), table.shape[1]))
        out[codes >= 0] = table[codes[codes >= 0]]
        return out

    def _channel_nodes(self, items, users):
        """``(codes, table, is_user)`` of the nodes asked by the channel methods (all items by default)."""
        if users is not None:
            codes = self.user_vocabulary_.transform(self._check_users(users), input_name="users")
            return codes, self.user_embeddings_, True
        codes = (np.arange(self.n_items_) if items is None
                 else self.item_vocabulary_.transform(self._check_items(items), input_name="items"))
        return codes, self.item_embeddings_, False

    @fill_doc
    def channel_similarity(self, items=None, *, users=None):
        """How much each channel of the final vectors explains an item's (or user's) training edges.

        For every training edge ``(u, v)`` the channel similarities ``s_k = u_k . v_k`` of the
        final vectors (:meth:`transform`, :meth:`transform_items`) are averaged over the edges of
        each item (or user). Unlike :meth:`channel_affinity`, which reads the routing weights,
        this reads the vectors themselves: the channel of the largest mean similarity is the one
        the item's users and the item share.

        Parameters
        ----------
        {channel_nodes}

        Returns
        -------
        similarity : ndarray of shape (n, n_channels), float64
            Entries in ``[-1, 1]``; zeros for unseen ids.
        """
        check_is_fitted(self)
        codes, _, is_user = self._channel_nodes(items, users)
        K = self.n_channels
        u = self.user_embeddings_.reshape(self.n_users_, K, -1)
        v = self.item_embeddings_.reshape(self.n_items_, K, -1)
        sims = np.empty((self.graph_.n_edges, K))
        for k in range(K):  # one (n_edges, d / K) gather per channel, not one (n_edges, d)
            sims[:, k] = np.einsum("ec,ec->e", u[self.graph_.user, k], v[self.graph_.item, k])
        total = self._sum_per_node(sims, is_user)
        degree = self.user_counts_ if is_user else self.item_counts_
        return self._node_rows(total / np.maximum(degree, 1)[:, None], codes)

    @uses_torch_threads
    @fill_doc
    def channel_correlation(self, items=None, *, users=None, max_rows=2000):
        """Distance correlation between every pair of channels of the final vectors: ``(K, K)``.

        Each channel of the item (or user) vectors is a sample of points; the distance
        correlation of two channels (:func:`~sklearn_ubergnn.nn.channel_distance_correlation`) is
        0 when they are independent and 1 when one determines the other linearly, so the mean of
        the off-diagonal entries measures how separate the channels are (what
        ``channel_independence`` trains down). It is a V-statistic, biased upwards by
        about ``2.5 / sqrt(n)`` for independent channels of ``n`` points (0.18 at 200, 0.05 at
        2,000 for independent Gaussian pairs): compare values at the same ``n``.

        Parameters
        ----------
        {channel_nodes}
        max_rows : int, default=2000
            At most this many nodes are used (a fixed random subset of the ones asked, drawn
            with seed 0), because the statistic needs ``K n^2`` memory.

        Returns
        -------
        dcor : ndarray of shape (n_channels, n_channels), float64
            Symmetric, ones on the diagonal. Ids unseen in ``fit`` are left out.
        """
        check_is_fitted(self)
        if not isinstance(max_rows, Integral) or max_rows < 2:
            raise ValueError(f"max_rows must be an int >= 2; got {max_rows!r}.")
        codes, table, _ = self._channel_nodes(items, users)
        codes = np.unique(codes[codes >= 0])
        if len(codes) < 2:
            raise ValueError(f"channel_correlation needs at least 2 known nodes; got {len(codes)}.")
        if len(codes) > max_rows:
            codes = np.sort(np.random.default_rng(0).choice(codes, max_rows, replace=False))
        with torch.no_grad():
            dcor = channel_distance_correlation(torch.from_numpy(table[codes]).double(), self.n_channels)
        return dcor.numpy()
