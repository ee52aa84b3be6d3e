"""Shared parameter documentation, inserted into docstrings with :func:`fill_doc`.

Write ``{random_state}`` (etc.) on its own line in a ``Parameters`` section; :func:`fill_doc`
replaces it with the shared text below, indented to match, so every estimator documents a
parameter with the same words.
"""
import textwrap

__all__ = ["DOCS", "fill_doc"]

DOCS = {
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
batch_size : int, default=100
    Number of samples (sessions, interactions or users) per training and inference batch.""",
    "max_epochs": """\
max_epochs : int, default=10
    Maximum number of passes over the training data (early stopping may end sooner).""",
    "lr": """\
lr : float, default=1e-3
    Learning rate of the optimiser.""",
    "weight_decay": """\
weight_decay : float, default=1e-5
    L2 penalty passed to the optimiser.""",
    "callbacks": """\
callbacks : list of (str, skorch.callbacks.Callback) or None, default=None
    Extra skorch callbacks, appended unchanged after the defaults. If you add a
    ``Checkpoint``, give each fit of a parallel search its own ``dirname``.""",
    "sessions_X": """\
X : sequence of sequences of item ids
    Sessions in click order, one per sample (a list of lists, a list of arrays or a pandas
    Series of lists). Item ids are all integers or all strings.""",
    "next_items_y": """\
y : array-like of shape (n_sessions,)
    The next item of each session (same id type as ``X``).""",
    "k": """\
k : int, default=20
    Number of items to return per session, best first. At most ``len(classes_)`` are
    returned when the catalogue is smaller.""",
}


def fill_doc(obj):
    """Replace ``{name}`` lines of ``obj.__doc__`` with the shared texts of :data:`DOCS`."""
    doc = obj.__doc__
    if not doc:
        return obj
    lines = []
    for line in doc.splitlines():
        key = line.strip()
        if key.startswith("{") and key.endswith("}") and key[1:-1] in DOCS:
            indent = line[: len(line) - len(line.lstrip())]
            lines.append(textwrap.indent(DOCS[key[1:-1]], indent))
        else:
            lines.append(line)
    obj.__doc__ = "\n".join(lines)
    return obj
