"""UBER-GNN session recommender: a gated GNN over session graphs with a DeepFM user context."""
from functools import partial
from numbers import Integral, Real

import numpy as np
import pandas as pd
import torch
from sklearn.base import ClassNamePrefixFeaturesOutMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .._docstrings import fill_doc
from .._threads import uses_torch_threads
from ..base import TRAINING_CONSTRAINTS
from ..graphs._transitions import item_transition_graph, neighbour_table, strongest_per_row
from ..nn import SoftmaxBCELoss, SoftmaxCrossEntropyLoss, UberGNN
from ._base import _full_sessions, _NetSessionRecommender
from ._data import SessionGraphSource

__all__ = ["SR_GNN_PARAMS", "UberGNNRecommender"]

#: The parameters that make ``UberGNNRecommender`` SR-GNN's network (with no user columns and the
#: ``"local"`` readout): the later techniques of its defaults switched off. The training protocol
#: (``refit``, ``validation_fraction``, ``max_epochs``) is left to the caller.
SR_GNN_PARAMS = {"normalize": False, "embedding_dropout": 0.0, "n_positions": 0, "star_node": False,
                 "highway": False, "repeat_bias": False}

_GLOBAL_WINDOW = 3  # GCE-GNN's epsilon: clicks within 3 steps are global neighbours

_LOSSES = {"cross_entropy": SoftmaxCrossEntropyLoss, "bce": SoftmaxBCELoss}


@fill_doc
class UberGNNRecommender(ClassNamePrefixFeaturesOutMixin, _NetSessionRecommender):
    """Session-based next-item recommender with user context (UBER-GNN; SR-GNN without users).

    Every session becomes a directed graph on its distinct items. ``n_steps`` rounds of a gated
    graph neural network refine the item vectors within the session; a readout pools them into a
    session vector ``s_h`` (attending with the last item, the user or both); each item is scored
    by ``scale * cos(s_h, v_i)`` and the model is trained with a softmax over the whole
    catalogue. With user portraits (a DataFrame ``X`` with a session column and user columns) a
    DeepFM encodes the user into a vector ``U`` that joins the attention query and the session
    vector.

    By default the graph network and readout carry the later session-graph techniques, each of
    which gained on held-out YOOCHOOSE 1/64 training prefixes (``benchmarks/RESULTS.md``; the
    MovieLens sessions were checked for the combination, and for ``repeat_bias``, which gains
    8 P@20 on them and, on YOOCHOOSE, MRR@20 at a tied P@20): NISER+'s normalised vectors
    (``normalize``, ``scale``) and embedding dropout, reversed-position embeddings in the
    attention (``n_positions``), SGNN-HN's star node and highway gate (``star_node``,
    ``highway``), and a learned shift of the logits of the session's own items
    (``repeat_bias``, RepeatNet's repeat mode); and ``fit`` runs the field's protocol
    (``refit``: epochs chosen on a validation split, then every sample). Without user columns,
    with ``readout="local"`` and ``normalize=False, embedding_dropout=0, n_positions=0,
    star_node=False, highway=False, repeat_bias=False`` (``SR_GNN_PARAMS``) this is SR-GNN (Wu
    et al., 2019), implemented on flat, unpadded graph batches.

    Parameters
    ----------
    hidden_size : int, default=100
        Size ``d`` of item, node and session vectors (SR-GNN: 100; UBER-GNN paper: 200).
    user_dim : int or None, default=None
        Size ``M`` of the user vector; None means ``hidden_size``. Used only with user columns.
    n_steps : int, default=1
        Number of gated-GNN propagation steps ``T``.
    readout : {"auto", "mean", "local", "user", "hybrid"}, default="auto"
        How a session's item vectors become the session vector (the paper's variants):
        ``"mean"`` (V1, mean of the clicks), ``"local"`` (V2, attention queried by the last
        item: SR-GNN), ``"user"`` (V3, attention queried by the user vector), ``"hybrid"``
        (V4, queried by both: the full UBER-GNN). ``"auto"`` resolves in ``fit`` to
        ``"hybrid"`` when ``X`` carries user columns and to ``"local"`` otherwise; the
        choice is stored in ``readout_``. ``"user"`` and ``"hybrid"`` need user columns.
    fm_embedding_dim : int, default=10
        Size of DeepFM's per-field embeddings.
    dnn_layers : tuple of int, default=(64,)
        Hidden widths of DeepFM's DNN part.
    dropout : float, default=0.0
        Dropout after each hidden layer of DeepFM's DNN.
    n_bins : int, default=5
        Number of (quantile) bins of each continuous user column.
    categorical_columns : list of str or None, default=None
        User columns coded by category. None: the ``object``, string, ``category`` and ``bool``
        columns other than ``session_column`` (and not in ``continuous_columns``).
    continuous_columns : list of str or None, default=None
        User columns discretised into ``n_bins`` bins. None: the numeric columns other than
        ``session_column`` (and not in ``categorical_columns``). When both lists are given the
        other columns are ignored; two empty lists mean no user features.
    session_column : str, default="session"
        The column holding the sessions (lists of item ids) when ``X`` is a DataFrame.
    attention_softmax : bool, default=True
        Normalise the attention weights within each session with a softmax. False uses SR-GNN's
        raw (unnormalised) weights.
    loss : {"cross_entropy", "bce"}, default="cross_entropy"
        Training criterion on the softmax over all items: the multi-class cross-entropy
        (SR-GNN; :class:`~sklearn_ubergnn.nn.SoftmaxCrossEntropyLoss`, fused with the output
        layer in training), or the binary cross-entropy of the softmax outputs against the one-hot target
        (UBER-GNN eq. 17, :class:`~sklearn_ubergnn.nn.SoftmaxBCELoss`).
    label_smoothing : float, default=0.0
        Share of the target's probability mass spread uniformly over all items in the
        cross-entropy (Szegedy et al., 2016; as ``torch.nn.CrossEntropyLoss``'s
        ``label_smoothing``), also in the validation loss that early stopping watches. Needs
        ``loss="cross_entropy"``.
    normalize : bool, default=True
        NISER's L2 normalisation of item and session vectors, with logits
        ``scale * cos(s_h, v_i)``; reduces the popularity bias of the dot product. False
        scores with the dot product ``s_h . v_i`` (SR-GNN).
    scale : float, default=12.0
        Logit scale (inverse temperature) with ``normalize=True``; ignored otherwise.
    embedding_dropout : float, default=0.1
        Dropout on the item vectors entering the graph network, in training (NISER+).
    n_positions : int, default=10
        Reversed-position embeddings in the attention (NISER+, SGNN-HN, GCE-GNN): each click's
        key is its vector plus the embedding of its distance from the end of the session
        (0 = the last click); clicks ``n_positions - 1`` or more from the end share the last
        embedding. 0 switches them off. Ignored by ``readout="mean"``.
    star_node : bool, default=True
        SGNN-HN's star node: a node per session linked to all of its items, updated after
        every propagation step, that also joins the attention query
        (:class:`~sklearn_ubergnn.nn.StarNode`).
    highway : bool, default=True
        SGNN-HN's highway gate between the item vectors and the graph network's output
        (:class:`~sklearn_ubergnn.nn.Highway`).
    global_neighbours : int, default=0
        GCE-GNN's global item graph: every node also attends over the ``global_neighbours``
        items most often clicked within 3 clicks of its item in any training session
        (:func:`~sklearn_ubergnn.graphs.item_transition_graph`, both directions), weighted by
        the session (:class:`~sklearn_ubergnn.nn.GlobalItemGraph`); GCE-GNN uses 12. 0 switches
        it off. The graph is built from the sessions of ``fit``'s samples (every prefix of a
        session counts the session once), validation samples included.
    repeat_bias : bool, default=True
        Learn how much the items already in the session gain or lose as the next click (the
        repeat mode of RepeatNet, Ren et al., 2019, reduced to a shift of their logits): each
        click adds to its item's logit an offset by its position from the end (the
        ``max(n_positions, 1)`` positions of the attention) plus a per-session shift, a linear
        function of the session vector (``nn.UberGNN``'s ``repeat_bias``); both start at zero.
        Click logs repeat items (27 % of YOOCHOOSE 1/64's next clicks are in the session),
        ratings never do (MovieLens sessions: none); the offsets learn which, and in which
        sessions.
    init : {"uniform", "normal"}, default="uniform"
        Weight initialisation: SR-GNN's ``U(-1/sqrt(d), 1/sqrt(d))``, or the Gaussian
        ``N(0, init_std^2)`` of the GGS-NN and UBER-GNN papers.
    init_std : float, default=0.1
        Standard deviation for ``init="normal"``.
    {batch_size}
    {lr=1e-3}
    {lr_step_size=3}
    {lr_gamma}
    {weight_decay=1e-5}
    {max_epochs=10}
    {validation_fraction=0.2}
    {patience=3}
    {refit=True}
    {torch_params}

    Attributes
    ----------
    {classes_items}
    n_items_ : int
        ``len(classes_)``.
    {vocabulary_}
    item_counts_ : ndarray of shape (n_items,), int64
        Training popularity, as for every recommender of the package: clicks of each item in
        the training sessions rebuilt from the samples (``X[i] + [y[i]]``, shorter prefixes of
        other samples removed), so every prefix of a session counts its clicks once. Ranks items
        for sessions without a known item.
    readout_ : str
        The readout used (``readout`` with ``"auto"`` resolved).
    user_encoder_ : UserPortraitEncoder or None
        The fitted encoder of the user columns; None without user features.
    field_sizes_ : list of int or None
        Values per user field (the unknown value 0 included); None without user features.
    global_item_graph_ : scipy.sparse.csr_matrix of shape (n_items, n_items) or None
        With ``global_neighbours``: ``[i, j]`` counts the training sessions' pairs of clicks on
        ``i`` and ``j`` at most 3 clicks apart, each item's ``global_neighbours`` largest kept.
        None otherwise.
    {net_}
    {history_}
    {refit_attributes}

    See Also
    --------
    sklearn_ubergnn.session.SessionGraphTransformer : Builds the session graphs; a valid first
        pipeline step before this estimator.
    sklearn_ubergnn.session.PopularityRecommender : The fallback ranking, as a baseline.
    sklearn_ubergnn.nn.UberGNN : The torch module.

    Notes
    -----
    **Inputs.** ``X`` is one of: a sequence of sessions (lists of raw item ids); the
    :class:`~sklearn_ubergnn.graphs.SessionGraphBatch` produced by
    :class:`~sklearn_ubergnn.session.SessionGraphTransformer`, consumed as it is (its graphs
    are sliced per batch, never rebuilt; its item codes are mapped to ``classes_`` by one remap
    array, and its ``handle_unknown`` decided what happened to unseen clicks); or a DataFrame with ``session_column`` plus user-portrait columns, encoded with
    :class:`~sklearn_ubergnn.preprocessing.UserPortraitEncoder`. ``X`` and ``y`` are never
    modified.

    **Unseen ids.** Items unseen in ``fit`` are dropped from their session; a session left
    with no known item, or empty (``fit`` refuses empty sessions), gets the popularity ranking
    (``item_counts_`` decreasing, ties in ``classes_`` order) from :meth:`recommend` and
    :meth:`predict`, the popularity distribution from :meth:`predict_proba` and a zero vector
    from :meth:`transform`. A user value unseen in ``fit`` (or missing) is coded 0, the
    "unknown" value of its field, which has an embedding of its own.

    **Learning rate.** SR-GNN trains with Adam at ``1e-3`` decayed by 0.1 every 3 epochs, L2
    ``1e-5``, batches of 100: the defaults here. The UBER-GNN paper states an initial
    rate of 0.1 decayed by 0.1 every 10 epochs and batches of 32
    (``lr=0.1, lr_step_size=10, batch_size=32``), far above Adam's usual range; it is not the
    default. SR-GNN's schedule reproduces SR-GNN's published YOOCHOOSE 1/64 figures
    (P@20 70.6, MRR@20 31.0 after 6 epochs; ``benchmarks/ubergnn_speed.py``).

    **Departures from the papers.** The user vector is DeepFM with its FM part projected to an
    M-vector (the paper's FM is scalar, see :class:`~sklearn_ubergnn.nn.DeepFM`); the
    attention weights are softmax-normalised by default (``attention_softmax``).

    **Persistence and devices.** The fitted estimator pickles (``pickle``, ``joblib``) through
    skorch. After ``fit`` the optimiser's moment estimates and early stopping's copy of the
    best weights are released (:func:`~sklearn_ubergnn._skorch.release_training_state`), so a
    saved model holds the weights only. Inference runs on ``device``; a model trained with
    ``device="cuda"`` and loaded on a machine without a GPU runs on the CPU (skorch maps the
    weights there, with a ``DeviceWarning``), and ``set_params(device="cpu")`` moves inference
    to the CPU on any machine.

    **Scoring.** :meth:`score` is SR-GNN's P@20 (the share of samples whose next item is in
    the top 20), not ClassifierMixin's accuracy; use
    :func:`~sklearn_ubergnn.metrics.make_topk_scorer` for other metrics in a search.

    References
    ----------
    S. Wu, Y. Tang, Y. Zhu, L. Wang, X. Xie, T. Tan. Session-based Recommendation with Graph
    Neural Networks. AAAI 2019.
    UBER-GNN: A User-Based Embeddings Recommendation based on Graph Neural Networks. 2020.
    P. Gupta et al. NISER: Normalized Item and Session Representations to Handle Popularity
    Bias. 2019.
    Z. Pan, F. Cai, W. Chen, H. Chen, M. de Rijke. Star Graph Neural Networks for Session-based
    Recommendation (SGNN-HN). CIKM 2020.
    Z. Wang et al. Global Context Enhanced Graph Neural Networks for Session-based
    Recommendation (GCE-GNN). SIGIR 2020.

    Examples
    --------
    >>> from sklearn_ubergnn.session import UberGNNRecommender
    >>> X = [[1, 2], [2, 3], [1, 2, 3], [3, 1]]
    >>> y = [3, 1, 1, 2]
    >>> rec = UberGNNRecommender(hidden_size=8, max_epochs=2, validation_fraction=None,
    ...                          random_state=0).fit(X, y)
    >>> rec.readout_, rec.recommend([[1, 2], [99]], k=2).shape
    ('local', (2, 2))
    >>> rec.transform([[1, 2]]).shape
    (1, 8)
    """

    _parameter_constraints = {
        **TRAINING_CONSTRAINTS,
        "refit": ["boolean"],
        "hidden_size": [Interval(Integral, 1, None, closed="left")],
        "user_dim": [Interval(Integral, 1, None, closed="left"), None],
        "n_steps": [Interval(Integral, 0, None, closed="left")],
        "readout": [StrOptions({"auto", "mean", "local", "user", "hybrid"})],
        "fm_embedding_dim": [Interval(Integral, 1, None, closed="left")],
        "dnn_layers": [tuple, list],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "n_bins": [Interval(Integral, 2, None, closed="left")],
        "categorical_columns": ["array-like", None],
        "continuous_columns": ["array-like", None],
        "session_column": [str, Integral],
        "attention_softmax": ["boolean"],
        "loss": [StrOptions(set(_LOSSES))],
        "label_smoothing": [Interval(Real, 0, 1, closed="left")],
        "normalize": ["boolean"],
        "scale": [Interval(Real, 0, None, closed="neither")],
        "embedding_dropout": [Interval(Real, 0, 1, closed="left")],
        "n_positions": [Interval(Integral, 0, None, closed="left")],
        "star_node": ["boolean"],
        "highway": ["boolean"],
        "global_neighbours": [Interval(Integral, 0, None, closed="left")],
        "repeat_bias": ["boolean"],
        "init": [StrOptions({"uniform", "normal"})],
        "init_std": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(
        self,
        *,
        hidden_size=100,
        user_dim=None,
        n_steps=1,
        readout="auto",
        fm_embedding_dim=10,
        dnn_layers=(64,),
        dropout=0.0,
        n_bins=5,
        categorical_columns=None,
        continuous_columns=None,
        session_column="session",
        attention_softmax=True,
        loss="cross_entropy",
        label_smoothing=0.0,
        normalize=True,
        scale=12.0,
        embedding_dropout=0.1,
        n_positions=10,
        star_node=True,
        highway=True,
        global_neighbours=0,
        repeat_bias=True,
        init="uniform",
        init_std=0.1,
        batch_size=100,
        lr=1e-3,
        lr_step_size=3,
        lr_gamma=0.1,
        weight_decay=1e-5,
        max_epochs=10,
        validation_fraction=0.2,
        patience=3,
        refit=True,
        callbacks=None,
        device="cpu",
        random_state=None,
        verbose=0,
        n_jobs=None,
    ):
        self.hidden_size = hidden_size
        self.user_dim = user_dim
        self.n_steps = n_steps
        self.readout = readout
        self.fm_embedding_dim = fm_embedding_dim
        self.dnn_layers = dnn_layers
        self.dropout = dropout
        self.n_bins = n_bins
        self.categorical_columns = categorical_columns
        self.continuous_columns = continuous_columns
        self.session_column = session_column
        self.attention_softmax = attention_softmax
        self.loss = loss
        self.label_smoothing = label_smoothing
        self.normalize = normalize
        self.scale = scale
        self.embedding_dropout = embedding_dropout
        self.n_positions = n_positions
        self.star_node = star_node
        self.highway = highway
        self.global_neighbours = global_neighbours
        self.repeat_bias = repeat_bias
        self.init = init
        self.init_std = init_std
        self.batch_size = batch_size
        self.lr = lr
        self.lr_step_size = lr_step_size
        self.lr_gamma = lr_gamma
        self.weight_decay = weight_decay
        self.max_epochs = max_epochs
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.refit = refit
        self.callbacks = callbacks
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.n_jobs = n_jobs

    _module = UberGNN
    _training_method = "item_logits"  # the criterion fuses the output layer with the loss

    # ------------------------------------------------------------------ input handling
    def _user_frame(self, X):
        """The user columns of a DataFrame ``X`` (a new frame), or None when ``X`` has none."""
        users = X.drop(columns=[self.session_column])
        if users.shape[1] == 0:
            return None
        if self.categorical_columns is not None and self.continuous_columns is not None \
                and len(self.categorical_columns) == 0 and len(self.continuous_columns) == 0:
            return None
        return users

    def _check_sessions(self, X, *, reset):
        if reset and not isinstance(X, pd.DataFrame) and (self.categorical_columns or self.continuous_columns):
            raise ValueError(
                "categorical_columns/continuous_columns name user columns, but X is not a DataFrame. "
                f"Pass a DataFrame with a {self.session_column!r} column and the user columns."
            )
        return super()._check_sessions(X, reset=reset)

    def _check_input(self, X, y=None, *, reset):
        checked = super()._check_input(X, y, reset=reset)
        if not reset and self.user_encoder_ is not None and checked[1] is None:
            raise ValueError(
                f"this model was fitted with the user columns {self._user_columns()}; pass X as a "
                f"DataFrame with a {self.session_column!r} column and those columns."
            )
        return checked

    def _user_columns(self):
        return list(self.user_encoder_.categorical_) + list(self.user_encoder_.continuous_)

    def _fit_users(self, users):
        """Fit the user encoder and resolve ``readout``."""
        from ..preprocessing import UserPortraitEncoder

        self.user_encoder_, self.field_sizes_ = None, None
        if users is not None:
            encoder = UserPortraitEncoder(
                categorical=self.categorical_columns, continuous=self.continuous_columns, n_bins=self.n_bins
            ).fit(users)
            if len(encoder.field_sizes_):
                self.user_encoder_ = encoder
                self.field_sizes_ = [int(s) for s in encoder.field_sizes_]
        has_users = self.user_encoder_ is not None
        if self.readout == "auto":
            self.readout_ = "hybrid" if has_users else "local"
        elif self.readout in ("user", "hybrid") and not has_users:
            raise ValueError(
                f"readout={self.readout!r} attends with the user vector and needs user-portrait columns, "
                f"but X has none. Pass a DataFrame with a {self.session_column!r} column plus user columns, "
                f"or use readout='local' or 'mean' (or 'auto')."
            )
        else:
            self.readout_ = self.readout

    def _encode_users(self, users):
        if users is None or self.user_encoder_ is None:
            return None  # a model without user features ignores user columns
        return np.ascontiguousarray(self.user_encoder_.transform(users), dtype=np.int64)

    # ------------------------------------------------------------------ the network
    def _criterion(self):
        if not self.label_smoothing:
            return _LOSSES[self.loss]
        if self.loss != "cross_entropy":
            raise ValueError(f"label_smoothing={self.label_smoothing} needs loss='cross_entropy'; "
                             f"got loss={self.loss!r}.")
        return partial(SoftmaxCrossEntropyLoss, label_smoothing=float(self.label_smoothing))

    def _module_params(self):
        return {
            "n_items": self.n_items_,
            "hidden_size": self.hidden_size,
            "n_steps": self.n_steps,
            "readout": self.readout_,
            "field_sizes": self.field_sizes_,
            "user_dim": self.user_dim if self.user_encoder_ is not None else None,
            "fm_embedding_dim": self.fm_embedding_dim,
            "dnn_layers": tuple(self.dnn_layers),
            "dropout": self.dropout,
            "attention_softmax": self.attention_softmax,
            "init": self.init,
            "init_std": self.init_std,
            "normalize": self.normalize,
            "scale": self.scale,
            "embedding_dropout": self.embedding_dropout,
            "n_positions": self.n_positions,
            "star_node": self.star_node,
            "highway": self.highway,
            "repeat_bias": self.repeat_bias,
            **self._global_graph_params(),
        }

    def _global_graph_params(self):
        if self.global_item_graph_ is None:
            return {}
        neighbours, weights = neighbour_table(self.global_item_graph_, self.global_neighbours)
        return {"global_neighbours": neighbours, "global_weights": weights}

    def _source(self, data, y=None):
        return SessionGraphSource.from_encoded(data, self.classes_, y)

    def _fit_codes(self, data, y_codes):
        self.global_item_graph_ = None
        if self.global_neighbours:
            full = _full_sessions(data.codes, y_codes)
            graph = item_transition_graph(full.items, full.session_index, self.n_items_,
                                          np.ones(_GLOBAL_WINDOW), symmetric=True)
            self.global_item_graph_ = strongest_per_row(graph, self.global_neighbours)
        super()._fit_codes(data, y_codes)
        self._n_features_out = self.hidden_size

    @uses_torch_threads
    def transform(self, X):
        """Return the session vectors ``s_h``, to feed other estimators.

        Parameters
        ----------
        X : sequence of sessions, SessionGraphBatch or DataFrame
            As in :meth:`fit`.

        Returns
        -------
        vectors : ndarray of shape (n_sessions, hidden_size), float32
            ``s_h`` of each session (unit rows with ``normalize=True``); zeros for a session with
            no known item. :meth:`recommend` ranks by ``scale * s_h . v_i`` (``s_h . v_i`` with
            ``normalize=False``) plus, with ``repeat_bias``, the learned offsets of the
            session's own items.
        """
        check_is_fitted(self)
        data = self._encode(*self._check_input(X, reset=False))
        return np.concatenate([s_h.float().numpy() for s_h in self._outputs(self._source(data), "session_vectors")])
