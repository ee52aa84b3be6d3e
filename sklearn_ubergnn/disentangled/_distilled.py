"""A light per-item behaviour model distilled from a graph embedder (CN111681059A)."""
from numbers import Integral, Real
from typing import ClassVar

import numpy as np
from scipy.stats import rankdata
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context, clone
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from .._docstrings import fill_doc
from .._skorch import ArraySource, fit_net, iter_outputs, seed_from
from .._threads import uses_torch_threads
from ..base import _NetEstimator
from ..nn import BehaviorHeads, BehaviorMLP, DistillationLoss, HeadwiseDistillationLoss
from ._embedder import DisentangledGraphEmbedder, _knob_constraints, check_user_ids
from ._soft_labels import at_least_once, proba_to_logit, sigmoid_of_dot
from ._soft_weight import (
    AUTO_SOFT_WEIGHTS,
    choose_teacher_or_student,
    fold_roc_auc,
    heads_train_mask,
    inner_splits,
    paired_roc_auc_difference,
)

__all__ = ["DistilledBehaviorClassifier"]


def _is_fitted(estimator):
    try:
        check_is_fitted(estimator)
    except NotFittedError:
        return False
    return True


@fill_doc
class DistilledBehaviorClassifier(ClassifierMixin, _NetEstimator, BaseEstimator):
    """Predict whether a user will act on one target item, distilled from a graph embedder.

    A light model (logistic regression, or a small MLP with ``hidden_layer_sizes``) takes a
    user's embedding from a fitted bipartite embedder (the teacher, e.g.
    :class:`DisentangledGraphEmbedder`) and outputs the probability that the user acts on
    ``target_item``. It is trained on the observed behaviour ``y`` of some users with the loss::

        BCE(p, y) + soft_weight * BCE(p, q)

    the second term's soft label ``q`` being the teacher's own probability that the user acts on
    the target (see ``teacher``). ``soft_weight=0`` trains on the hard labels alone. The embedder
    is not fine-tuned. By default (``soft_weight="auto"``) the weight, or the teacher's
    probability alone instead of any student, is chosen by cross-validation on the labelled
    users, so that the model is as good as the better of its two parts (see Notes).

    Parameters
    ----------
    embedder : estimator or None, default=None
        The teacher: a bipartite embedder with ``transform(users)`` and ``transform_items(items)``.
        If it is already fitted it is used as is; otherwise a clone is fitted in :meth:`fit` on the
        ``edges`` given there. None means ``DisentangledGraphEmbedder()``. In a
        :class:`~sklearn.model_selection.GridSearchCV`, which clones its estimator (and so
        un-fits a fitted embedder), wrap a fitted embedder in
        :class:`sklearn.frozen.FrozenEstimator` to share it across candidates.
    target_item : int or str
        The item whose behaviour is predicted; must be known to the embedder.
    soft_weight : float or "auto", default="auto"
        Weight of the soft-label (teacher) loss. A number trains one student with that fixed
        weight: the formulation of CN111681059A (``0``: hard labels only). ``"auto"`` chooses,
        by an inner cross-validation on the labelled users, among the students of weights
        ``(0, 0.1, 0.3, 1, 3, 10)`` and the teacher alone (its probability ``q`` as the
        prediction); see Notes.
    temperature : float, default=1.0
        With ``teacher="sigmoid"``, the teacher's probability is
        ``sigmoid(u . v_target / temperature)``; unused with ``teacher="softmax"``.
    teacher : {"softmax", "sigmoid"}, default="softmax"
        The teacher's probability (see above). ``"softmax"`` needs an embedder of this package
        (it has ``item_proba`` and ``user_counts_``).
    soft_users : {"all", "labelled"}, default="all"
        Users under the soft-label term: every user of the embedder, or the labelled ones only.
    student : {"plain", "residual", "auto"}, default="plain"
        The student's logit. ``"plain"``: ``f(u)``, the light model alone on the user's
        embedding ``u`` (CN111681059A). ``"residual"``: ``logit(q(u)) + f(u)``, a correction of
        the teacher's logit (its probability ``q`` of the same user, see ``teacher``), ``f``'s last
        layer starting at zero so that the untrained student is the teacher; the soft term then
        penalises the correction's departure from the teacher. ``soft_weight="auto"``
        cross-validates the students of this form; ``"auto"`` the students of both forms (and
        means ``"plain"`` with a numeric ``soft_weight``). See Notes.
    hidden_layer_sizes : tuple of int, default=()
        Hidden widths of the student; ``()`` is logistic regression on the embedding.
    max_epochs : int, default=200
        Passes over the labelled users.
    batch_size : int, default=256
        Users per step.
    lr : float, default=1e-2
        Learning rate of Adam.
    weight_decay : float, default=1e-4
        L2 penalty of Adam.
    {device}
    {random_state}
    {verbose}
    {n_jobs}
    user_column : str, default="user"
        The user column when ``X`` is a DataFrame.

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
        The two labels of ``y`` (sorted); the second is the "acts" class.
    embedder_ : estimator
        The fitted teacher (the ``embedder`` itself when it was fitted already).
    target_embedding_ : ndarray of shape (embedding_dim,), float32
        The teacher's vector of ``target_item``.
    student_ : {"plain", "residual"}
        The student's form: ``student``, or the one ``student="auto"`` chose (the best student's,
        also when the teacher alone was chosen).
    soft_weight_ : float
        The weight the student was trained with: ``soft_weight``, or the one ``"auto"`` chose
        (the best student's, also when the teacher alone was chosen).
    predictor_ : {"student", "teacher"}
        What :meth:`predict_proba` returns: the student's probability, or the teacher's
        (:meth:`teacher_proba`; only ``soft_weight="auto"`` chooses it).
    cv_results_ : dict of ndarray or None
        With ``soft_weight="auto"``, the inner cross-validation, one entry per candidate (the
        students, residual ones first, each form by weight, then the teacher alone) as in
        :class:`~sklearn.model_selection.GridSearchCV`: ``params``, ``param_predictor``,
        ``param_student`` and ``param_soft_weight`` (masked for the teacher),
        ``split{i}_test_score`` (ROC-AUC on the held-out users of split ``i``),
        ``mean_test_score``, ``std_test_score``, ``rank_test_score`` (by mean),
        ``paired_difference`` and ``paired_se`` (each candidate's ROC-AUC minus the teacher's
        over the held-out pairs of labelled users, and its standard error over those users; see
        Notes) and ``chosen`` (bool, the choice). None for a numeric ``soft_weight``.
    net_ : skorch.NeuralNet
        The trained student (``net_.module_`` is a :class:`~sklearn_ubergnn.nn.BehaviorMLP`,
        built with ``residual=True`` for ``student="residual"``).
    history_ : skorch.History
        Per-epoch training record.

    Notes
    -----
    ``X`` holds user ids: a 1-D array-like, a one-column 2-D array, or a DataFrame with
    ``user_column``. Users unknown to the embedder get a zero embedding (so the student's bias
    alone) and the teacher's probability of an unknown user (0.5 for ``teacher="sigmoid"``, the
    target's popularity share for ``"softmax"``).

    **The automatic soft weight.** Neither part wins everywhere: with a few labels the teacher
    alone often ranks users better than any student (it sees the user's activity, which the
    student's embedding input does not), while a teacher that knows the target badly pulls the
    student down. ``soft_weight="auto"`` measures, on the labelled users, every candidate: the
    students of the weights above and the teacher alone. The labelled users are split into
    ``min(5, smaller class)`` stratified folds, repeated 10 times with fresh shuffles (50 splits
    for 10 + 10 labels); each split's students are trained on the other labelled users (with
    the same soft term, over the same users, as the final student) and the candidates are
    scored by ROC-AUC on the split's held-out users, averaged over splits. ROC-AUC and not the
    log loss because it is the task (ranking users for one item) and it ignores calibration,
    which the teacher lacks on a labelled set sampled at another positive rate. The AUC is
    computed per split (every held-out pair judged by a model that saw neither), not on pooled
    out-of-fold scores, which mix the calibrations of different fold models; the repeats
    average out which users share a fold, the largest noise with 20 labels. The teacher alone
    counts as the simplest candidate (nothing fitted on the labels) and is kept unless the best
    student's mean beats it by more than ``Phi^{-1}(1 - 0.159 / 6) = 1.94`` standard errors (of
    one 5-fold run, ``std / sqrt(5)``): the one-standard-error rule of Hastie, Tibshirani and
    Friedman, whose one-sided error is 0.159, with a Bonferroni margin for comparing one teacher
    with the best of six students, which is the largest of six noisy means and beats a fixed
    candidate by one standard error by chance far more often. (With the plain rule, every
    MovieLens target of ``benchmarks/distillation_regimes.py``'s seeds 0-2 that chose a student
    ranked it below the teacher alone on the test users.)
    The best student must also clear the same margin in a second unit: the standard error of its
    paired difference with the teacher over the labelled users. The spread of the split scores
    measures how the labelled users are split, not which users were labelled: a student wins
    every split, with almost no spread, when the teacher misranks one or two of the 20 users or
    when the 20 share a quirk that the student reads and other users lack. So every (positive,
    negative) pair of labelled users held out together is judged by the split's student and by
    the teacher; the difference of their verdicts, averaged per pair over the splits, gives the
    paired ROC-AUC difference and DeLong's standard error of it (from the per-user means of the
    pairs of each positive and of each negative), which is large when a few users carry the
    difference (DeLong, DeLong and Clarke-Pearson, 1988).
    If the teacher is out, the students are chosen among by the one-standard-error rule, from the
    largest weight (closest to the teacher) down to 0.
    The chosen configuration is then fitted on all labelled users. The 50 x 6
    students of the splits are trained at once as independent heads of one network
    (:class:`~sklearn_ubergnn.nn.BehaviorHeads`), so the search costs about one training run of
    300 students, seconds for a logistic student on MovieLens-100k's 943 users.

    **The residual student.** A plain student must rebuild the teacher from the embedding, and
    cannot rebuild what the teacher reads elsewhere (the user's activity ``n``); with 20 labels it
    can also stray far from it. ``student="residual"`` gives the teacher's logit to the student
    as an offset, ``logit = logit(q(u)) + f(u)``, ``f`` the same light model with its last layer
    at zero: untrained, the student is the teacher; the hard labels teach ``f`` a correction,
    and the soft term ``BCE(p, q)`` is smallest at ``f = 0``, so its weight says how far the
    correction may go (and weight decay pulls ``f`` towards zero too). At predict time the offset
    is the teacher's logit of the users predicted (:meth:`teacher_proba`). The price: a teacher
    that is badly wrong about the target is also the residual student's start, and a few
    hundred steps on 20 labels do not undo it (on planted data with a teacher that ranks users
    backwards the residual students stay below 0.2 ROC-AUC where plain ones reach 0.9), so the
    plain form stays the way out. ``student="auto"`` puts both forms (12 students) and the
    teacher into the same inner cross-validation under the same rule, the margin being then
    ``Phi^{-1}(1 - 0.159 / 12) = 2.22`` standard errors, and the students ordered closest to the
    teacher first: residual ones, then plain ones, each from the largest weight down.

    If the labelled users' own edges to ``target_item`` are in the teacher's training graph (a
    new item known only through its labelled users), the teacher's held-out scores are those
    of training edges and flatter it in the inner cross-validation. On MovieLens-100k
    (``benchmarks/distillation_regimes.py``: 20 labels per target, 20 targets and seeds 6-8,
    which had not been looked at when the paired margin was chosen), with the embedder's
    defaults (spectral start) as the teacher, the defaults reach 0.8305 (cold targets) and
    0.9036 (warm) ROC-AUC, the teacher alone's own figures (it is kept on all 120 targets), against
    0.7771 and 0.7719 for the hard labels alone. With the earlier random-start teacher they reached
    0.8318 and 0.8969 against 0.8318 and 0.8987 for that teacher alone: paired over the 60
    targets, 0.0000 and -0.0018 (standard error 0.0018), where the margin on the splits alone
    gave -0.0015 (0.0011) and -0.0038 (0.0023). That margin chose a plain student on
    2 cold and 3 warm targets, and every one of them lost 2.6 to 10.7 points to the teacher on the
    test users; the paired margin turned down all but one (warm, which lost 10.7 points). Earlier
    seeds (3-5) put ``soft_weight=1`` at 0.760 (cold) and 0.797 (warm). ``student="residual"``
    chose the teacher on all 120 targets of seeds 6-8 (with the margin on the splits alone it
    chose 7 residual students, which all lost 0.9 to 8.5 points); it is not the default, because
    alone it has no way out of a teacher that is wrong about the target.
    ``benchmarks/RESULTS.md`` has the figures.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn_ubergnn.disentangled import DisentangledGraphEmbedder, DistilledBehaviorClassifier
    >>> edges = pd.DataFrame({"user": [1, 1, 2, 2, 3, 4], "item": [10, 20, 20, 30, 10, 30]})
    >>> emb = DisentangledGraphEmbedder(embedding_dim=8, n_channels=2, max_epochs=2, random_state=0)
    >>> emb = emb.fit(edges)
    >>> clf = DistilledBehaviorClassifier(embedder=emb, target_item=10, max_epochs=5, random_state=0)
    >>> clf.fit([1, 2, 3, 4], [1, 0, 1, 0]).predict_proba([1, 5]).shape
    (2, 2)
    """

    _parameter_constraints: ClassVar[dict] = {
        "embedder": [HasMethods(["fit", "transform"]), None],
        "target_item": [Integral, str, None],
        "soft_weight": [Interval(Real, 0, None, closed="left"), StrOptions({"auto"})],
        "temperature": [Interval(Real, 0, None, closed="neither")],
        "teacher": [StrOptions({"softmax", "sigmoid"})],
        "soft_users": [StrOptions({"all", "labelled"})],
        "student": [StrOptions({"plain", "residual", "auto"})],
        "hidden_layer_sizes": [tuple, list],
        "user_column": [str, Integral],
        **_knob_constraints("max_epochs", "batch_size", "lr", "weight_decay", "device", "random_state", "verbose",
                            "n_jobs"),
    }

    def __init__(
        self,
        embedder=None,
        *,
        target_item=None,
        soft_weight="auto",
        temperature=1.0,
        teacher="softmax",
        soft_users="all",
        student="plain",
        hidden_layer_sizes=(),
        max_epochs=200,
        batch_size=256,
        lr=1e-2,
        weight_decay=1e-4,
        device="cpu",
        random_state=None,
        verbose=0,
        n_jobs=None,
        user_column="user",
    ):
        self.embedder = embedder
        self.target_item = target_item
        self.soft_weight = soft_weight
        self.temperature = temperature
        self.teacher = teacher
        self.soft_users = soft_users
        self.student = student
        self.hidden_layer_sizes = hidden_layer_sizes
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.n_jobs = n_jobs
        self.user_column = user_column

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.classifier_tags.multi_class = False
        return tags

    def _users(self, X):
        return check_user_ids(X, self.user_column, input_name="X")

    def _features(self, X):
        return np.ascontiguousarray(self.embedder_.transform(self._users(X)), dtype=np.float32)

    @_fit_context(prefer_skip_nested_validation=True)
    @uses_torch_threads
    def fit(self, X, y, edges=None):
        """Fit the student on labelled users (fitting the teacher first if needed).

        Parameters
        ----------
        X : array-like of shape (n_users,) or DataFrame
            User ids (see Notes of the class).
        y : array-like of shape (n_users,)
            Observed behaviour towards ``target_item``: two classes (e.g. 0/1), the larger one
            meaning "acted".
        edges : DataFrame or None, default=None
            Training edges of the embedder; needed only when ``embedder`` is not fitted yet.

        Returns
        -------
        self : DistilledBehaviorClassifier
        """
        users = self._users(X)
        y = np.asarray(y)
        if y.ndim != 1 or len(y) != len(users):
            raise ValueError(f"y must be 1-D with one label per user ({len(users)}); got shape {y.shape}.")
        check_classification_targets(y)
        self.classes_, y_codes = np.unique(y, return_inverse=True)
        if len(self.classes_) != 2:
            raise ValueError(
                f"y must hold two classes (did not act / acted); got {len(self.classes_)}: "
                f"{self.classes_.tolist()}. Give at least one user of each class."
            )
        if self.target_item is None:
            raise ValueError("target_item must be set to the item whose behaviour is predicted; got None.")
        embedder = DisentangledGraphEmbedder() if self.embedder is None else self.embedder
        if _is_fitted(embedder):
            self.embedder_ = embedder
        else:
            if edges is None:
                raise ValueError(
                    "the embedder is not fitted; pass the training edges with fit(X, y, edges=...) or give "
                    "a fitted embedder."
                )
            self.embedder_ = clone(embedder).fit(edges)
        target = self.embedder_.transform_items([self.target_item])[0]
        if not np.any(target):
            raise ValueError(
                f"target_item {self.target_item!r} is unknown to the embedder (it has no training edge); "
                "choose an item of embedder.classes_."
            )
        self.target_embedding_ = target
        auto = self.soft_weight == "auto"
        if auto and np.bincount(y_codes, minlength=2).min() < 2:
            raise ValueError(
                f"soft_weight='auto' cross-validates on the labelled users and needs at least 2 of each "
                f"class; got {np.bincount(y_codes).tolist()} users of classes {self.classes_.tolist()}. Give "
                "more labels or set a numeric soft_weight."
            )
        n_labelled = len(users)
        hard = y_codes.astype(np.float32)
        # residual students are trained (or cross-validated) for "residual", and for "auto" with soft_weight="auto"
        residual = self.student == "residual" or (auto and self.student == "auto")
        soft = auto or self.soft_weight > 0
        if soft and self.soft_users == "all":
            known = getattr(self.embedder_, "users_", None)
            if known is None:
                raise ValueError(
                    f"soft_users='all' needs an embedder with a users_ attribute (the users it knows); "
                    f"{type(self.embedder_).__name__} has none. Use soft_users='labelled'."
                )
            others = known[~np.isin(known, users)]
            users = np.concatenate([users, others])
            hard = np.concatenate([hard, np.full(len(others), np.nan, dtype=np.float32)])
        U = np.ascontiguousarray(self.embedder_.transform(users), dtype=np.float32)
        q = self._teacher_proba(users, U) if soft or residual else np.zeros(len(users))
        teacher = q.astype(np.float32)
        fields = {"x": U, "offset": proba_to_logit(q)} if residual else {"x": U}
        seed = seed_from(self.random_state)
        if auto:
            self._choose_soft_weight(fields, hard, teacher, q[:n_labelled], y_codes, seed)
        else:
            self.soft_weight_, self.predictor_, self.cv_results_ = float(self.soft_weight), "student", None
            self.student_ = "plain" if self.student == "auto" else self.student
        if self.student_ == "plain":
            fields = {"x": U}
        if self.soft_weight_ == 0:  # hard labels only: the labelled users alone, no soft label
            fields = {name: values[:n_labelled] for name, values in fields.items()}
            hard, teacher = hard[:n_labelled], np.zeros(n_labelled, dtype=np.float32)
        net = self._make_net(BehaviorMLP, criterion=DistillationLoss, seed=seed, n_samples=len(hard),
                             validation=False, in_features=U.shape[1],
                             hidden_layer_sizes=tuple(self.hidden_layer_sizes),
                             residual=self.student_ == "residual")
        net.set_params(criterion__soft_weight=self.soft_weight_)
        self._fit_net(net, ArraySource(fields, np.stack([hard, teacher], axis=1)), seed)
        return self

    def _choose_soft_weight(self, fields, hard, teacher, labelled_q, y_codes, seed):
        """``soft_weight="auto"``: set ``cv_results_``, ``student_``, ``soft_weight_`` and ``predictor_`` (see Notes).

        ``fields`` (the user vectors ``x``, and the teacher's logits ``offset`` when residual
        students are candidates), ``hard`` and ``teacher`` are the training rows of a student with
        a soft term (the ``len(y_codes)`` labelled users first); the (split, weight) students of
        each form are the heads of one :class:`~sklearn_ubergnn.nn.BehaviorHeads` net trained on
        them. ``labelled_q`` is the teacher's probability of the labelled users in float64 (its
        score as a candidate).
        """
        n_labelled, weights = len(y_codes), np.asarray(AUTO_SOFT_WEIGHTS)
        forms = ["residual", "plain"] if self.student == "auto" else [self.student]
        splits, n_splits = inner_splits(y_codes, seed)
        row = np.full(len(hard), -1, dtype=np.float32)
        row[:n_labelled] = np.arange(n_labelled)
        blocks = []
        for form in forms:
            form_fields = fields if form == "residual" else {"x": fields["x"]}
            net = self._make_net(BehaviorHeads, criterion=HeadwiseDistillationLoss, seed=seed, n_samples=len(hard),
                                 validation=False, in_features=fields["x"].shape[1],
                                 hidden_layer_sizes=tuple(self.hidden_layer_sizes),
                                 n_heads=len(splits) * len(weights), residual=form == "residual")
            net.set_params(criterion__soft_weight=np.tile(weights, len(splits)),
                           criterion__train_mask=heads_train_mask(splits, n_labelled, len(weights)),
                           criterion__soft_held_out=self.soft_users == "all")
            net = fit_net(net, ArraySource(form_fields, np.stack([hard, teacher, row], axis=1)), seed)
            source = ArraySource({name: values[:n_labelled] for name, values in form_fields.items()})
            logits = np.concatenate([out.numpy() for out in iter_outputs(net, source)])
            blocks.append(logits.reshape(n_labelled, len(splits), len(weights)))
        scores = np.concatenate([*blocks, np.repeat(labelled_q[:, None, None], len(splits), axis=1)], axis=2)
        fold_scores = fold_roc_auc(y_codes, scores, splits)
        teacher_alone = len(forms) * len(weights)
        # closest to the teacher first: residual students before plain ones, each from the largest weight down
        heaviest_first = np.argsort(weights)[::-1]
        simplest_first = np.concatenate([heaviest_first + k * len(weights) for k in range(len(forms))])
        paired = paired_roc_auc_difference(y_codes, scores, splits, teacher_alone)
        chosen, mean, std = choose_teacher_or_student(fold_scores, n_splits, teacher_alone, simplest_first, paired)
        best = int(np.argmax(mean[:teacher_alone])) if chosen == teacher_alone else chosen
        self.student_ = forms[best // len(weights)]
        self.soft_weight_ = float(weights[best % len(weights)])
        self.predictor_ = "teacher" if chosen == teacher_alone else "student"
        students = [(form, float(w)) for form in forms for w in weights]
        masked = [False] * len(students) + [True]
        self.cv_results_ = {
            "params": [{"student": form, "soft_weight": w} for form, w in students] + [{"predictor": "teacher"}],
            "param_predictor": np.array(["student"] * len(students) + ["teacher"], dtype=object),
            "param_student": np.ma.masked_array(
                np.array([form for form, _ in students] + [""], dtype=object), mask=masked),
            "param_soft_weight": np.ma.masked_array([w for _, w in students] + [0.0], mask=masked),
            **{f"split{i}_test_score": fold_scores[i] for i in range(len(splits))},
            "mean_test_score": mean,
            "std_test_score": std,
            "rank_test_score": rankdata(-mean, method="min").astype(np.int32),
            "paired_difference": paired[0],
            "paired_se": paired[1],
            "chosen": np.arange(len(mean)) == chosen,
        }

    def _teacher_proba(self, users, U):
        """The soft labels of ``users`` (embeddings ``U``), see ``teacher``."""
        if self.teacher == "sigmoid":
            return sigmoid_of_dot(U, self.target_embedding_, self.temperature)
        if not (hasattr(self.embedder_, "item_proba") and hasattr(self.embedder_, "user_counts_")):
            raise ValueError(
                f"teacher='softmax' needs an embedder with item_proba and user_counts_ (the embedders of "
                f"sklearn_ubergnn.disentangled); {type(self.embedder_).__name__} lacks them. Use "
                "teacher='sigmoid'."
            )
        p = self.embedder_.item_proba(users, [self.target_item])[:, 0]
        codes = self.embedder_.user_vocabulary_.transform(users, input_name="X")
        n = np.where(codes >= 0, self.embedder_.user_counts_[np.maximum(codes, 0)], 1)
        return at_least_once(p, n)

    @uses_torch_threads
    def teacher_proba(self, X):
        """The teacher's probability that each user acts on ``target_item`` (the soft labels), ``(n_users,)``.

        ``teacher="softmax"``: ``1 - (1 - p) ** n`` with ``p`` the embedder's ``item_proba`` of
        the target and ``n`` the user's training edges; ``"sigmoid"``: ``sigmoid(u . v_target /
        temperature)``. This is what :meth:`predict_proba` returns when ``predictor_`` is
        ``"teacher"``.
        """
        check_is_fitted(self)
        users = self._users(X)
        return self._teacher_proba(users, self._features(users))

    def _student(self, X, method):
        """The student's ``method`` on the embeddings of the users ``X`` (and their offsets), as one float64 array."""
        check_is_fitted(self)
        users = self._users(X)
        U = self._features(users)
        fields = {"x": U}
        if self.net_.module_.residual:  # the teacher's logits of the same users, as in training
            fields["offset"] = proba_to_logit(self._teacher_proba(users, U))
        source = ArraySource(fields)
        return np.concatenate([out.numpy() for out in self._outputs(source, method)]).astype(np.float64)

    @uses_torch_threads
    def decision_function(self, X):
        """Logits of acting on ``target_item``, ``(n_users,)`` (of the teacher's probability if ``predictor_`` says so)."""
        check_is_fitted(self)
        if self.predictor_ == "teacher":
            return proba_to_logit(self.teacher_proba(X))
        return self._student(X, "forward")

    @uses_torch_threads
    def predict_proba(self, X):
        """Probabilities ``(n_users, 2)``, columns in ``classes_`` order (the student's, or the teacher's, see ``predictor_``)."""
        check_is_fitted(self)
        if self.predictor_ == "teacher":
            q = self.teacher_proba(X)
            return np.stack([1.0 - q, q], axis=1)
        return self._student(X, "predict_proba")

    @uses_torch_threads
    def predict(self, X):
        """The more probable class of each user."""
        check_is_fitted(self)
        return self.classes_[(self.decision_function(X) > 0).astype(np.int64)]
