"""DynamicGraphEmbedder: sub-graph encoders of a dynamic interaction graph, trained by link prediction.

Also the base of both dynamic estimators: the walk of ``fit`` is *validate* the interaction table
once (:func:`~sklearn_ubergnn._validation.check_interactions`), *encode* its ids once into the
:class:`~sklearn_ubergnn.dynamic._data.StreamState` (graph + growing vocabulary), *train* the
net on a batch source (:class:`~sklearn_ubergnn.dynamic._data.LinkSource` or
:class:`~sklearn_ubergnn.dynamic._data.QuerySource` of object codes) through
:class:`~sklearn_ubergnn.base._NetEstimator`; queries are validated and encoded once, then read
out of the module (``proba``, ``encode``, ``encode_pairs``) batch by batch.
"""
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin, _fit_context
from sklearn.linear_model import LogisticRegression
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .._docstrings import fill_doc
from .._skorch import StartIsEpochZero, seed_from
from .._threads import uses_torch_threads
from .._validation import check_ids, check_interactions
from ..base import TRAINING_CONSTRAINTS, _NetEstimator
from ..nn import DynamicQueryModel
from ._data import ChronologicalSplit, LinkSource, QueryBuilder, QuerySource, StreamState, auto_time_scale

__all__ = ["DynamicGraphEmbedder"]

# parameters shared by the dynamic estimators: the training knobs they have, the graph, the encoder, columns
COMMON_CONSTRAINTS = {
    **{k: v for k, v in TRAINING_CONSTRAINTS.items() if k not in ("lr_step_size", "lr_gamma")},
    "encoder": [StrOptions({"lstm", "rnn", "transformer"})],
    "n_hops": [Interval(Integral, 1, None, closed="left"), None],
    "time_window": [Interval(Real, 0, None, closed="neither"), None],
    "max_nodes": [Interval(Integral, 3, None, closed="left"), None],
    "embedding_dim": [Interval(Integral, 2, None, closed="left")],
    "object_dim": [Interval(Integral, 0, None, closed="left")],
    "time_dim": [Interval(Integral, 0, None, closed="left")],
    "time_scale": [StrOptions({"auto"}), Interval(Real, 0, None, closed="neither")],
    "n_heads": [Interval(Integral, 1, None, closed="left")],
    "n_layers": [Interval(Integral, 1, None, closed="left")],
    "dropout": [Interval(Real, 0, 1, closed="left")],
    "source_column": [str],
    "target_column": [str],
    "time_column": [str],
    "feature_columns": [list, tuple, None],
}


class _DynamicGraphBase(_NetEstimator, BaseEstimator):
    """What both dynamic estimators share: input checks, the stream state, the net, inference."""

    # ---------------------------------------------------------------- input: validated once, encoded once
    def _check_X(self, X, *, features=None, require_sorted=True):
        """Validate an interaction table: ``(sources, targets, times, features or None)``, raw ids."""
        return check_interactions(
            X, source=self.source_column, target=self.target_column, time=self.time_column,
            features=features, require_sorted=require_sorted,
        )

    def _check_kind(self, sources):
        kind = "str" if sources.dtype == object else "int"
        if kind != self.id_kind_:
            raise TypeError(
                f"the model was fitted on {self.id_kind_} object ids but X holds {kind} ids; use one id type "
                "throughout."
            )

    def _check_history(self, X):
        """Validate rows to append to the history (time-ordered, features as in fit)."""
        out = self._check_X(X, features=list(self.feature_names_) if self.n_event_features_ else None)
        if len(self.state_) and len(out[2]) and out[2][0] < self.state_.graph.last_time:
            raise ValueError(
                f"X must continue the history in time order: its row 0 has time {out[2][0]} but the history "
                f"already holds an interaction at time {self.state_.graph.last_time}. Pass later "
                "interactions (queries about the past go to transform/predict, which never change the "
                "history)."
            )
        self._check_kind(out[0])
        return out

    def _query_source(self, X, *, pair):
        """The query rows of ``X`` (any order; their own features are never used) as a batch source."""
        check_is_fitted(self)
        sources, targets, times, _ = self._check_X(X, require_sorted=False)
        self._check_kind(sources)
        encode = self.state_.encode
        return QuerySource(self.builder_, encode(sources), encode(targets), times, pair=pair)

    def _check_graph_params(self):
        if self.n_hops is None and self.time_window is None:
            raise ValueError(
                "give n_hops, time_window or both: with neither, a sub-graph would be the whole history of "
                "the object. E.g. n_hops=2 or time_window=7 * 86400."
            )

    # ---------------------------------------------------------------- state
    def _init_state(self, sources, targets, times, features, labels=None, n_classes=0, history_features=False):
        """Encode the training rows into a fresh history; returns their source and target codes."""
        self._check_graph_params()
        self.id_kind_ = "str" if sources.dtype == object else "int"
        self.feature_names_ = list(self.feature_columns) if self.feature_columns else []
        self.n_event_features_ = len(self.feature_names_)
        state = StreamState(self.n_event_features_, n_classes)
        codes = state.append(sources, targets, times, features, labels)
        if self.n_event_features_:
            mean = features.mean(axis=0)
            scale = features.std(axis=0)
            scale[scale == 0] = 1.0
        else:
            mean = scale = None
        self.time_scale_ = auto_time_scale(times) if self.time_scale == "auto" else float(self.time_scale)
        self.n_objects_ = state.graph.n_objects
        self.state_ = state
        self.builder_ = QueryBuilder(state, n_hops=self.n_hops, time_window=self.time_window,
                                     max_nodes=self.max_nodes, time_scale=self.time_scale_,
                                     n_objects=self.n_objects_,
                                     feature_mean=mean, feature_scale=scale, n_classes=n_classes,
                                     history_features=history_features)
        return codes

    # ---------------------------------------------------------------- wide part
    def _standardise_wide(self, stats):
        """Keep the mean and deviation of the history statistics ``stats`` of the training rows
        (``history_mean_``, ``history_scale_``; 1 where constant); returns the module's wide arguments."""
        self.history_mean_ = stats.mean(axis=0, dtype=np.float64)
        self.history_scale_ = stats.std(axis=0, dtype=np.float64)
        self.history_scale_[self.history_scale_ == 0] = 1.0
        return {"n_wide": stats.shape[1], "wide_mean": self.history_mean_.tolist(),
                "wide_scale": self.history_scale_.tolist()}

    def _linear_start(self, stats, codes, n_outputs):
        """An L2 logistic regression on the standardised statistics ``stats`` of labelled rows: the start.

        Returns the wide weights ``(n_outputs, n_wide)`` and the output bias ``(n_outputs,)``
        of :class:`~sklearn_ubergnn.nn.DynamicQueryModel`: multinomial for more than two
        classes; with two, the one logit ``a`` of class 1 becomes ``(-a / 2, a / 2)`` (the same
        softmax) when ``n_outputs == 2``, or stays ``a`` (a link logit) when ``n_outputs == 1``.
        """
        z = (stats - self.history_mean_) / self.history_scale_
        # Newton's method with a Cholesky solve: the solver for many rows and a dozen columns, converged in
        # a few passes over the rows (a third of the time of lbfgs on CollegeMsg's 101,718 rows).
        model = LogisticRegression(C=1.0, max_iter=1000, solver="newton-cholesky").fit(z, codes)
        weight, bias = model.coef_, model.intercept_
        if n_outputs == 2:
            weight, bias = np.vstack([-weight, weight]) / 2, np.r_[-bias, bias] / 2
        return weight, bias

    @staticmethod
    def _start_at(net, weight, bias):
        """Start ``net``'s module as the linear model ``(weight, bias)`` of :meth:`_linear_start`, and have
        early stopping count that start as epoch 0 (:class:`~sklearn_ubergnn._skorch.StartIsEpochZero`)."""
        net.set_params(module__wide_weight=weight.tolist(), module__output_bias=bias.tolist())
        net.callbacks = [*net.callbacks, ("start_is_epoch_zero", StartIsEpochZero())]
        return net

    # ---------------------------------------------------------------- net
    def _build_net(self, seed, *, criterion, n_outputs, pair, n_samples, validation=True, max_epochs=None,
                   **module_params):
        """The skorch net of :class:`~sklearn_ubergnn.nn.DynamicQueryModel`, validated on the latest rows.

        ``validation=False`` trains on every row, ``max_epochs`` replaces the estimator's (see
        :meth:`~sklearn_ubergnn.base._NetEstimator._make_net`); ``module_params`` are further
        module arguments (the classifier's wide part).
        """
        return self._make_net(
            DynamicQueryModel, criterion=criterion, seed=seed, n_samples=n_samples, validation=validation,
            max_epochs=max_epochs,
            train_split=None if self.validation_fraction is None else ChronologicalSplit(self.validation_fraction),
            n_objects=self.n_objects_, n_features=self.builder_.n_inputs, hidden_size=self.embedding_dim,
            object_dim=self.object_dim, encoder=self.encoder, time_dim=self.time_dim, n_outputs=n_outputs,
            pair=pair, dropout=self.dropout, n_heads=self.n_heads, n_layers=self.n_layers, **module_params,
        )

    def _train_more(self, source, seed):
        """One epoch of skorch's ``partial_fit`` on new rows (history and callbacks kept).

        All new rows train: no validation split, so no early stopping for this step.
        """
        self._fit_net(self.net_, source, seed, partial=True, epochs=1, validate=False)

    def _run(self, method, source):
        """``module.<method>`` on every batch of ``source``, concatenated as one ndarray."""
        return torch.cat(list(self._outputs(source, method))).numpy()

    def _persisted_seed(self):
        """A fresh seed for partial_fit training steps (advances with every call, reproducibly)."""
        self._n_partial_fits = getattr(self, "_n_partial_fits", 0) + 1
        return self.seed_ + self._n_partial_fits

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False  # a table of interactions (ids and times), not a numeric matrix
        tags.input_tags.string = True
        tags.requires_fit = True
        return tags


@fill_doc
class DynamicGraphEmbedder(ClassNamePrefixFeaturesOutMixin, TransformerMixin, _DynamicGraphBase):
    """Embed interactions of a dynamic graph with a sub-graph encoder trained by link prediction.

    The interactions ``(source, target, time[, event features])`` form a
    :class:`~sklearn_ubergnn.graphs.DynamicInteractionGraph` (each interaction makes one node per
    object, linked to the two nodes of that object's previous interaction). A row is embedded
    as a *query*: for each of its two objects, the sub-graph of that object's history strictly
    before the row's time (its latest node, that node's partner and their ancestors within
    ``n_hops`` / ``time_window``, capped at ``max_nodes``) plus a query node appended last, is
    encoded by a DAG-LSTM, a GRU or a Transformer into a vector of size ``embedding_dim``.
    A link head scores ``[h_s ; h_d ; h_s * h_d]``; training contrasts every interaction with
    ``n_negatives`` sampled destinations. Node inputs are a learned object embedding, the event
    features of the node's interaction (standardised), structural indicators (whether the node's
    object is the query object or its partner, how often it occurs in each end's sub-graph), the
    log time since the event and a learned time encoding; see :mod:`sklearn_ubergnn.dynamic._data`.

    Parameters
    ----------
    encoder : {"lstm", "rnn", "transformer"}, default="lstm"
        Sub-graph encoder: :class:`~sklearn_ubergnn.nn.DAGLSTMEncoder` (Tree-LSTM over the DAG),
        :class:`~sklearn_ubergnn.nn.RNNSubgraphEncoder` (GRU over the nodes in time order) or
        :class:`~sklearn_ubergnn.nn.TransformerSubgraphEncoder`.
    n_hops : int >= 1 or None, default=3
        Edges from the query node: 1 sees the object's latest interaction, ``k`` its last ``k``
        interactions and their partners' earlier ones.
    time_window : float > 0 or None, default=None
        Only events at most this long before the query time (in the units of the time column).
        At least one of ``n_hops`` and ``time_window`` must be given.
    max_nodes : int >= 3 or None, default=32
        Most nodes per sub-graph (the most recent are kept): bounds time and memory per query.
    embedding_dim : int, default=64
        Size of each end's vector; :meth:`transform` returns ``2 * embedding_dim`` columns.
    object_dim : int, default=0
        Size of the learned per-object embedding in the node inputs; 0 (the default) learns
        none: the model is fully inductive, reading objects only through their histories and
        statistics, so it carries over to objects first seen after ``fit``. (16 trails it on
        CollegeMsg, email-Eu-core-temporal and Bitcoin-OTC link prediction, where the embedding
        memorises objects and early stopping ends it within 2–3 epochs; see the user guide.)
    time_dim : int, default=8
        Size of the learned cosine time encoding of ``dt / time_scale``.
    time_scale : "auto" or float > 0, default="auto"
        Unit of time differences inside the model; "auto" is the mean gap between training
        interactions.
    n_heads, n_layers : int, default=2
        Attention heads and layers of the Transformer encoder.
    dropout : float, default=0.1
    n_negatives : int, default=1
        Sampled negatives per training interaction.
    historical_fraction : float in [0, 1], default=0.0
        Share of negatives that are historical destinations (the target of a random earlier
        interaction, so popular objects are negatives too); the others are uniform over the
        training targets. 0, uniform negatives as DyGLib and TGN train, was chosen leave one
        stream out over CollegeMsg, email-Eu and Bitcoin-OTC (0.2 before): it was ahead on each
        with random negatives at evaluation (RESULTS.md gives the historical-negative AP too).
    history_features : bool, default=True
        Wide & deep: add to the link logit a linear term of each pair's history statistics,
        standardised with their training mean and deviation (``history_mean_``,
        ``history_scale_``): for each end, ``log1p`` of its events given and received and of
        the time since its last event
        (:meth:`~sklearn_ubergnn.graphs.DynamicInteractionGraph.history_features`), and for the
        pair itself ``log1p`` of its past interactions in each direction, of the time since its
        latest one, of the two ends' common partners and of the pair's meetings among each end's
        last 10 events (:meth:`~sklearn_ubergnn.graphs.DynamicInteractionGraph.pair_features`),
        all strictly before the row's time. The model starts as an L2 logistic regression on
        these statistics, fitted on the training rows the net trains on against one negative
        per row drawn as in training (its coefficients start the linear term, the head's last
        layer starts at zero), and early stopping counts that start as epoch 0
        (``valid_loss_start``): the trained model replaces it only when it beats it on the
        validation rows by more than one standard error of the per-row gain. False: the
        sub-graph encoding alone.
    {max_epochs=10}
    {batch_size=200}
    {lr=1e-3}
    {weight_decay=0.0}
    {validation_fraction=0.15}
    {patience=3}
    source_column, target_column, time_column : str, default="source", "target", "time"
        Column names of ``X``.
    feature_columns : list of str or None, default=None
        Numeric event-feature columns of ``X`` (None: none). They describe past events only:
        the features of a row are never used to embed or score that row.
    {callbacks}
    {device}
    {random_state}
    {verbose}
    {n_jobs}

    Attributes
    ----------
    state_ : StreamState
        The history: the :class:`~sklearn_ubergnn.graphs.DynamicInteractionGraph` (per
        interaction its time, object codes, event features and revealed label, per node its
        object's statistics) and the growing vocabulary of object ids. Grows with
        :meth:`partial_fit`, never with queries.
    n_objects_ : int
        Objects with a learned embedding (those of ``fit``); later objects share one vector.
    n_event_features_ : int
    feature_names_ : list of str
    time_scale_ : float
    id_kind_ : {"int", "str"}
    history_mean_, history_scale_ : ndarray of shape (n_history_features,) or None
        Mean and standard deviation (1 where constant) of the wide inputs over the training
        rows and one negative per row; None when ``history_features=False``.
    {net_}
        The module is a :class:`~sklearn_ubergnn.nn.DynamicQueryModel`.
    {history_}

    See Also
    --------
    EdgeBankBaseline : Memorisation baseline under the same API.
    DynamicInteractionClassifier : The same encoders trained to classify interactions.

    Notes
    -----
    **Temporal protocol.** Queries (the rows of :meth:`transform`, :meth:`predict_link_proba`)
    see only history strictly before their own time, never themselves or anything at the same
    time; they never change the model. Streams are scored batch by batch and each batch is then
    added with ``partial_fit(batch, update_only=True)`` (the TGN/DyGLib protocol). Training
    follows the same rule: each training interaction is scored from the history before it.

    **Unknown objects.** An object never seen gets a sub-graph of its query node alone (with the
    shared "unknown" embedding); objects first seen in :meth:`partial_fit` join the graph at
    once and share that embedding.

    **Persistence.** ``joblib.dump`` saves the history and the weights; the loaded model gives
    identical predictions.

    References
    ----------
    US 10970350 (dynamic interaction graphs). E. Rossi et al. Temporal Graph Networks, 2020.
    L. Yu et al. Towards Better Dynamic Graph Learning: New Architecture and Unified Library
    (DyGFormer, DyGLib), NeurIPS 2023.

    Examples
    --------
    >>> from sklearn_ubergnn.datasets import make_interactions
    >>> from sklearn_ubergnn.dynamic import DynamicGraphEmbedder
    >>> X = make_interactions(n_objects=30, n_interactions=300, random_state=0)
    >>> emb = DynamicGraphEmbedder(n_hops=2, embedding_dim=8, max_epochs=1, random_state=0).fit(X[:200])
    >>> emb.transform(X[200:]).shape
    (100, 16)
    >>> emb.predict_link_proba(X[200:205]).shape
    (5,)
    """

    _parameter_constraints = {
        **COMMON_CONSTRAINTS,
        "n_negatives": [Interval(Integral, 1, None, closed="left")],
        "historical_fraction": [Interval(Real, 0, 1, closed="both")],
        "history_features": ["boolean"],
    }

    def __init__(self, *, encoder="lstm", n_hops=3, time_window=None, max_nodes=32, embedding_dim=64,
                 object_dim=0, time_dim=8, time_scale="auto", n_heads=2, n_layers=2, dropout=0.1,
                 n_negatives=1, historical_fraction=0.0, history_features=True, max_epochs=10, batch_size=200,
                 lr=1e-3, weight_decay=0.0, validation_fraction=0.15, patience=3, source_column="source",
                 target_column="target", time_column="time", feature_columns=None, callbacks=None, device="cpu",
                 random_state=None, verbose=0, n_jobs=None):
        self.encoder = encoder
        self.n_hops = n_hops
        self.time_window = time_window
        self.max_nodes = max_nodes
        self.embedding_dim = embedding_dim
        self.object_dim = object_dim
        self.time_dim = time_dim
        self.time_scale = time_scale
        self.n_heads = n_heads
        self.n_layers = n_layers
        self.dropout = dropout
        self.n_negatives = n_negatives
        self.historical_fraction = historical_fraction
        self.history_features = history_features
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.source_column = source_column
        self.target_column = target_column
        self.time_column = time_column
        self.feature_columns = feature_columns
        self.callbacks = callbacks
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.n_jobs = n_jobs

    def _link_source(self, sources, targets, times, seed):
        return LinkSource(self.builder_, sources, targets, times, self.negative_pool_,
                          n_negatives=self.n_negatives, historical_fraction=self.historical_fraction, seed=seed)

    @_fit_context(prefer_skip_nested_validation=True)
    @uses_torch_threads
    def fit(self, X, y=None):
        """Build the interaction graph of ``X`` and train the encoder by link prediction.

        Parameters
        ----------
        X : DataFrame
            Interactions in time order (non-decreasing ``time_column``; ties allowed), with the
            source, target and time columns and the ``feature_columns``. Not modified.
        y : None
            Ignored.

        Returns
        -------
        self : DynamicGraphEmbedder
        """
        sources, targets, times, features = self._check_X(X, features=self.feature_columns and list(
            self.feature_columns))
        source_codes, target_codes = self._init_state(sources, targets, times, features,
                                                      history_features=self.history_features)
        self.seed_ = seed_from(self.random_state)
        self.negative_pool_ = self.state_.encode(np.unique(targets))  # codes, in sorted-id order
        source = self._link_source(source_codes, target_codes, times, self.seed_)
        n = len(times)
        self.history_mean_ = self.history_scale_ = None
        wide = {}
        if self.history_features:  # standardised over every training row and a negative drawn once per row
            every = source.subset(np.arange(n), fixed=True)  # the source's statistics, its negatives' added
            stats = every.history_inputs(np.arange(n))
            wide = self._standardise_wide(stats)
        net = self._build_net(self.seed_, criterion=torch.nn.BCEWithLogitsLoss, n_outputs=1, pair=True,
                              n_samples=n, **wide)
        if self.history_features:  # the regression on the rows the net trains on and their negatives
            n_train = n if net.train_split is None else net.train_split.n_train(n)
            train = np.r_[np.arange(n_train), n + np.arange(n_train * self.n_negatives)]
            labels = every.pairs(np.arange(n))[3]
            self._start_at(net, *self._linear_start(stats[train], labels[train].astype(np.int64), 1))
        self._fit_net(net, source, self.seed_)
        self._n_features_out = 2 * self.embedding_dim
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    @uses_torch_threads
    def partial_fit(self, X, y=None, update_only=False):
        """Append interactions to the history and, unless ``update_only``, train on them.

        Parameters
        ----------
        X : DataFrame
            Interactions in time order, none earlier than the history's last time (equal times
            are allowed and do not see each other). New objects may appear.
        y : None
            Ignored.
        update_only : bool, default=False
            Only extend the history (the streaming protocol: score a batch, then add it);
            False also takes one training pass over the new interactions, each scored from the
            history before it.

        Returns
        -------
        self : DynamicGraphEmbedder
        """
        if not hasattr(self, "net_"):
            return self.fit(X)
        sources, targets, times, features = self._check_history(X)
        source_codes, target_codes = self.state_.append(sources, targets, times, features)
        if not update_only and len(times):
            seed = self._persisted_seed()
            self._train_more(self._link_source(source_codes, target_codes, times, seed), seed)
        return self

    @uses_torch_threads
    def predict_link_proba(self, X):
        """Probability that each row's source and target interact at the row's time.

        Parameters
        ----------
        X : DataFrame
            Query rows (source, target, time), any order; only history strictly before each
            row's time is used, and the model is not changed.

        Returns
        -------
        proba : ndarray of shape (n_rows,), float64
        """
        return self._run("proba", self._query_source(X, pair=True))

    @uses_torch_threads
    def transform(self, X):
        """Vectors of each row's two ends at the row's time, from history strictly before it.

        Parameters
        ----------
        X : DataFrame
            Query rows (source, target, time), any order. The model is not changed.

        Returns
        -------
        vectors : ndarray of shape (n_rows, 2 * embedding_dim), float32
            ``[h_source ; h_target]``.
        """
        return self._run("encode_pairs", self._query_source(X, pair=True)).astype(np.float32, copy=False)

    def embed_objects(self, ids, time=None):
        """Each object's latest vector: its history before ``time`` (default: all of it).

        Parameters
        ----------
        ids : array-like of shape (n,)
            Raw object ids; unknown ones get the vector of a query node without history.
        time : float, array-like of shape (n,) or None, default=None
            Query time(s); None means just after the history's last interaction.

        Returns
        -------
        vectors : ndarray of shape (n, embedding_dim), float32
        """
        check_is_fitted(self)
        ids = check_ids(ids, input_name="ids")
        if time is None:
            times = np.full(len(ids), np.nextafter(self.state_.graph.last_time, np.inf))
        else:
            times = np.broadcast_to(np.asarray(time, dtype=np.float64), ids.shape).copy()
            if np.isnan(times).any():
                row = int(np.flatnonzero(np.isnan(times))[0])
                raise ValueError(f"time must not be NaN; entry {row} is NaN.")
        source = QuerySource(self.builder_, self.state_.encode(ids, input_name="ids"), None, times, pair=False)
        return self._run("encode", source).astype(np.float32, copy=False)
