"""Shared parameter documentation, inserted into docstrings with :func:`fill_doc`.

Write ``{random_state}`` (etc.) on its own line in a ``Parameters`` or ``Attributes`` section;
:func:`fill_doc` replaces it with the shared text below, indented to match, so every estimator
documents a parameter with the same words. Texts with a ``{default}`` slot take the estimator's
default after an equals sign: ``{patience=3}``.
"""
import textwrap

__all__ = ["DOCS", "fill_doc"]

DOCS = {
    "channel_nodes": """\
items : array-like of shape (n,) or None, default=None
    Raw item ids; None means every item of ``classes_``.
users : array-like of shape (n,) or None, default=None
    Raw user ids, instead of items.""",
    "click_columns": """\
k : int, default=20
    Number of items per session, best first (fewer when the catalogue is smaller).
session_column : str, default="session"
    Column (or index name) of the session ids: any hashable values, none missing.
item_column : str, default="item"
    Column of the item ids: all integers or all strings, as in ``fit``; none missing.
time_column : str, default=None
    Column of the click times (numbers or dates): a session's clicks are ordered by it, ties
    in row order. None: a session's clicks are in row order.
user_columns : list of str, default=None
    User-portrait columns, for a model fitted with them (``UberGNNRecommender`` given a
    DataFrame with user columns). They should be constant within a session: the values of
    its first click are used. The estimator then gets a DataFrame with its
    ``session_column`` (lists of item ids) and these columns.""",
    "random_state": """\
random_state : int, RandomState instance or None, default=None
    Seeds everything random in ``fit``: weight initialisation, shuffling, negative sampling
    and the internal validation split. Pass an int for reproducible results: the same
    ``random_state``, data and CPU device give identical predictions.""",
    "device": """\
device : str or torch.device, default="cpu"
    Where the network trains and predicts, e.g. ``"cpu"`` or ``"cuda"``. The fitted model
    can be loaded and used on a CPU-only machine whatever device it was trained on.""",
    "verbose": """\
verbose : int, default=0
    0 is silent. 1 prints skorch's table after every epoch (``PrintLog``): the epoch,
    ``train_loss``, ``valid_loss`` when a validation split is used, the learning rate when it
    is scheduled, ``dur`` (seconds), and any column a callback records (e.g. the
    ``valid_P@20``/``valid_MRR@20`` of ``sklearn_ubergnn.benchmark.ValidationTopK``); the
    best values so far are highlighted and early stopping says when it stops. 2 also shows a
    progress bar over the batches of each epoch (skorch's ``ProgressBar``).""",
    "n_jobs": """\
n_jobs : int or None, default=None
    CPU threads torch runs on during ``fit``, ``predict``, ``recommend``, ``transform`` and the
    other calls; the caller's ``torch.get_num_threads()`` is restored afterwards. ``None``
    chooses: one thread for a small model (parameters x ``batch_size`` under 1e7); otherwise
    the CPUs this process may use (``OMP_NUM_THREADS`` when set, else the CPU affinity and
    cgroup quota) less those other processes keep busy, kept only if a few timed training
    batches run faster on them than on one thread, and chosen again before an epoch that
    follows one of over 10 s. A positive int is that many threads; ``-1`` means all usable
    CPUs, ``-2`` all but one, as in joblib. Results can differ in the last bits between
    thread counts: set ``n_jobs`` for bit-identical refits of a large model.
    Ignored on a GPU except for data preparation.""",
    "batch_size": """\
batch_size : int, default={default}
    Number of samples (sessions, interactions or users) per training and inference batch.""",
    "lr_step_size": """\
lr_step_size : int or None, default={default}
    Multiply the learning rate by ``lr_gamma`` every ``lr_step_size`` epochs (skorch's
    ``LRScheduler(policy=StepLR)``); None keeps it constant.""",
    "lr_gamma": """\
lr_gamma : float, default=0.1
    Decay factor of the step schedule.""",
    "validation_fraction": """\
validation_fraction : float or None, default={default}
    Share of the training samples held out (at random; the latest rows for a stream) to
    monitor ``valid_loss`` and stop early. None trains on every sample for ``max_epochs``
    epochs (recommended inside :class:`~sklearn.model_selection.GridSearchCV`, whose folds
    already validate). Too few samples to keep one on each side of the split (e.g. a single
    one): trained on all of them without early stopping, with a ``UserWarning`` giving the
    number needed.""",
    "patience": """\
patience : int or None, default={default}
    Stop when ``valid_loss`` has not improved for ``patience`` epochs and restore the best
    epoch's weights; None (or no validation split) disables early stopping.""",
    "refit": """\
refit : bool, default={default}
    The field's protocol in one call, as ``refit`` in
    :class:`~sklearn.model_selection.GridSearchCV`: train with the validation split and early
    stopping to choose the number of epochs (``best_epoch_``), then train a
    fresh network on every sample for that many epochs (same seed and learning-rate schedule);
    the returned model is the second one. About 1.5-2x the training time. Without a
    validation split (``validation_fraction=None``, or too few samples) there is nothing to
    choose and the model trains once, for ``max_epochs`` epochs.""",
    "refit_attributes": """\
best_epoch_ : int
    Number of epochs of the final network: with ``refit=True`` the epoch chosen on the
    validation split, otherwise the epochs trained. With early stopping the chosen epoch is
    the one whose weights it restored: the last that lowered ``valid_loss`` by more than
    skorch's threshold (1e-4 relative), so epochs of negligible gain are not trained again.
selection_history_ : skorch.History or None
    With ``refit=True`` and a validation split, the history of the run that chose
    ``best_epoch_`` (``history_`` is then the refit's); None otherwise.""",
    "session_fitted": """\
vocabulary_ : ItemVocabulary
    Raw ids <-> codes (positions in ``classes_``).
classes_ : ndarray of shape (n_items,)
    Sorted distinct item ids of the training data (``int64`` or ``object``).
n_items_ : int
    ``len(classes_)``.
item_counts_ : ndarray of shape (n_items,), int64
    Clicks of each item in the training sessions rebuilt from the samples, each click once:
    the popularity ranking that fills the places the model leaves and ranks sessions without
    a known item.""",
    "net_": """\
net_ : skorch.NeuralNet
    The trained skorch net; its module is ``net_.module_``.""",
    "history_": """\
history_ : skorch.History
    Per-epoch training record (``train_loss``, ``valid_loss``, ``dur``, ...).""",
    "classes_items": """\
classes_ : ndarray of shape (n_items,)
    Sorted distinct item ids of the training data (``int64`` or ``object``).""",
    "vocabulary_": """\
vocabulary_ : ItemVocabulary
    Raw ids <-> codes (positions in ``classes_``).""",
    "max_epochs": """\
max_epochs : int, default={default}
    Maximum number of passes over the training data (early stopping may end sooner).""",
    "lr": """\
lr : float, default={default}
    Learning rate of the optimiser.""",
    "weight_decay": """\
weight_decay : float, default={default}
    L2 penalty passed to the optimiser.""",
    "callbacks": """\
callbacks : list of (str, skorch.callbacks.Callback) or None, default=None
    Extra skorch callbacks, appended unchanged after the defaults. If you add a
    ``Checkpoint``, give each fit of a parallel search its own ``dirname``.""",
    "sessions_X": """\
X : sequence of sequences of item ids or FlatSessions
    Sessions in click order, one per sample (a list of lists, a list of arrays, a pandas
    Series of lists, or a :class:`~sklearn_ubergnn.datasets.FlatSessions`, which gives the same
    results without a Python list per session; a long click table becomes one with
    :meth:`FlatSessions.from_frame <sklearn_ubergnn.datasets.FlatSessions.from_frame>`). Item ids
    are all integers or all strings.""",
    "next_items_y": """\
y : array-like of shape (n_sessions,)
    The next item of each session (same id type as ``X``).""",
    "k": """\
k : int, default=20
    Number of items to return per session, best first. At most ``len(classes_)`` are
    returned when the catalogue is smaller.""",
}

#: What every torch estimator ends its parameters with, in this order: ``{torch_params}``.
DOCS["torch_params"] = "\n".join(DOCS[name] for name in ("callbacks", "device", "random_state", "verbose", "n_jobs"))

# Defaults of the texts with a ``{default}`` slot when a docstring gives none (``{lr}``).
_DEFAULTS = {"batch_size": "100", "max_epochs": "10", "lr": "1e-3", "weight_decay": "1e-5",
             "lr_step_size": "None", "validation_fraction": "0.2", "patience": "3",
             "refit": "False"}


def fill_doc(obj):
    """Replace ``{name}`` and ``{name=default}`` lines of ``obj.__doc__`` with the texts of :data:`DOCS`."""
    doc = obj.__doc__
    if not doc:
        return obj
    lines = []
    for line in doc.splitlines():
        key = line.strip()
        name, _, default = key[1:-1].partition("=")
        if key.startswith("{") and key.endswith("}") and name in DOCS:
            indent = line[: len(line) - len(line.lstrip())]
            text = DOCS[name]
            if "{default}" in text:
                text = text.replace("{default}", default or _DEFAULTS[name])
            elif default:
                raise ValueError(f"the shared text {name!r} has no default to set; write {{{name}}}.")
            lines.append(textwrap.indent(text, indent))
        else:
            lines.append(line)
    obj.__doc__ = "\n".join(lines)
    return obj
