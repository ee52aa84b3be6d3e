"""The shared skorch glue: the one dataset and collate function, tensor batches, the one ``NeuralNet`` subclass, the factory.

Estimators compose a :class:`skorch.NeuralNet`; they never subclass it. The pieces:

- :class:`IndexDataset` is the one dataset: ``n`` samples whose batches a *source* builds
  (``len(source)``, ``source.batch(index) -> (TensorBatch, y)``); indexing it returns a light
  :class:`SampleIndex`, and :func:`collate_samples`, the one collate function, asks the source for
  the whole mini-batch at once (PyTorch's ``__getitems__`` protocol), so there is no per-sample
  Python. Sources live with their families (e.g. ``session/_data.py``); :class:`ArraySource`
  serves plain arrays.
- :class:`TensorBatch` carries named tensors through skorch with ``len`` = number of samples, so skorch's
  length checks see one consistent length while the tensors inside have their own sizes (nodes, edges,
  clicks). :class:`GraphNet` overrides ``infer`` alone: it moves the batch to the device and calls
  ``module(**batch.fields)``, so the field names are the module's ``forward`` argument names.
- :func:`make_net` maps an estimator's user-facing knobs to skorch's prefixed parameters, with the
  house defaults (early stopping, step learning-rate decay, progress bar at ``verbose >= 2``).
"""
from copy import copy, deepcopy
from dataclasses import dataclass

import numpy as np
import torch
from skorch import NeuralNet
from skorch.callbacks import Callback, EarlyStopping, LRScheduler, ProgressBar
from skorch.dataset import ValidSplit, unpack_data

from ._threads import ThreadBudget

__all__ = [
    "ArraySource",
    "ChunkedRandomSampler",
    "GraphNet",
    "IndexDataset",
    "SampleIndex",
    "ShuffleLoader",
    "StartIsEpochZero",
    "TensorBatch",
    "collate_samples",
    "fit_net",
    "inference_device",
    "iter_outputs",
    "make_net",
    "release_training_state",
    "seed_from",
    "torch_generator",
]


@dataclass
class TensorBatch:
    """Named tensors of one batch of ``n_samples`` samples.

    Parameters
    ----------
    fields : dict of str to torch.Tensor
        Keyword arguments of the module's ``forward``.
    n_samples : int
        Number of samples (sessions, interactions, users) in the batch; what ``len`` returns.
    method : str, default="forward"
        The module method :meth:`GraphNet.infer` calls at inference (in training it calls the
        net's ``training_method``).
    """

    fields: dict
    n_samples: int
    method: str = "forward"

    def __len__(self):
        return self.n_samples

    def to(self, device):
        """Return the batch with every tensor moved to ``device`` (the same batch if nothing moves)."""
        device = torch.device(device)
        if all(v.device == device for v in self.fields.values()):
            return self
        fields = {k: v.to(device, non_blocking=True) for k, v in self.fields.items()}
        return TensorBatch(fields, self.n_samples, self.method)


class GraphNet(NeuralNet):
    """``skorch.NeuralNet`` whose batches are :class:`TensorBatch` objects.

    Parameters
    ----------
    *args, **kwargs
        :class:`skorch.NeuralNet`'s.
    training_method : str, default="forward"
        The module method called in training; the criterion gets what it returns (e.g.
        ``"item_logits"``: the factors of :class:`~sklearn_ubergnn.nn.UberGNN`'s logits, for a loss
        fused with the output layer). At inference the batch's ``method`` is called.

    Everything else (training loop, callbacks, history, device handling, ``forward_iter``,
    pickling) is skorch's.
    """

    def __init__(self, *args, training_method="forward", **kwargs):
        super().__init__(*args, **kwargs)
        self.training_method = training_method

    def infer(self, x, **fit_params):
        if isinstance(x, TensorBatch):
            name = getattr(self, "training_method", "forward") if self.module_.training else x.method
            method = self.module_ if name == "forward" else getattr(self.module_, name)
            return method(**x.to(self.device).fields, **fit_params)
        return super().infer(x, **fit_params)


# ------------------------------------------------------------------------------------------------
# data: one dataset class, one collate function, for every model family
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SampleIndex:
    """What indexing an :class:`IndexDataset` returns: the dataset and the positions of some samples.

    :func:`collate_samples` builds the mini-batch from it; nothing per sample is materialised.
    """

    dataset: "IndexDataset"
    index: np.ndarray


class IndexDataset(torch.utils.data.Dataset):
    """The one dataset of the package: ``n`` samples whose batches a *source* builds.

    A source is any object with ``len(source)`` (the number of samples) and
    ``source.batch(index) -> (TensorBatch, y)`` (``y`` a tensor, or None for inference), where
    ``index`` is an int64 array of sample positions: the session graphs, the padded click
    sequences, the dynamic sub-graph queries, the bipartite edges with their negatives and the
    rows of a feature matrix are all sources. Indexing the dataset returns a
    :class:`SampleIndex`; with PyTorch's ``__getitems__`` protocol the data loader hands a whole
    batch of indices to the dataset at once, so a batch is built by whole-array operations and
    there is no per-sample Python.

    Parameters
    ----------
    source : object
        Builds the batches (see above).
    method : str, default="forward"
        The module method a batch is fed to at inference (:meth:`GraphNet.infer`); training
        always calls ``forward``.
    """

    def __init__(self, source, method="forward"):
        self.source = source
        self.method = method

    def __len__(self):
        return len(self.source)

    def __getitem__(self, i):
        return SampleIndex(self, np.array([i], dtype=np.int64))

    def __getitems__(self, indices):
        return SampleIndex(self, np.asarray(indices, dtype=np.int64))


def collate_samples(samples):
    """The collate function of :class:`IndexDataset`: samples -> ``(TensorBatch, y)``.

    Accepts what the data loader hands over: one :class:`SampleIndex` (datasets with
    ``__getitems__``) or a list of them (one per sample).
    """
    if isinstance(samples, SampleIndex):
        dataset, index = samples.dataset, samples.index
    else:
        dataset, index = samples[0].dataset, np.concatenate([s.index for s in samples])
    if not isinstance(dataset, IndexDataset):  # a dataset that builds its own batches
        return dataset.batch(index)
    batch, y = dataset.source.batch(index)
    batch.method = dataset.method
    return batch, y


class ArraySource:
    """A source of rows of numeric arrays: each array is one module argument.

    Parameters
    ----------
    fields : dict of str to array-like
        Arrays of the same length, one per keyword argument of the module's ``forward``.
    y : array-like or None, default=None
        Training targets (float32), one per row; None for inference.
    """

    def __init__(self, fields, y=None):
        self.fields = {k: torch.as_tensor(np.ascontiguousarray(v)) for k, v in fields.items()}
        self.y = None if y is None else torch.as_tensor(np.asarray(y, dtype=np.float32))
        lengths = {len(v) for v in self.fields.values()} | ({len(self.y)} if self.y is not None else set())
        if len(lengths) > 1:
            raise ValueError(f"every array of an ArraySource needs the same length; got {sorted(lengths)}.")

    def __len__(self):
        return len(next(iter(self.fields.values())))

    def batch(self, index):
        """The rows ``index`` as ``(TensorBatch, y)``."""
        index = torch.as_tensor(index)
        y = None if self.y is None else self.y[index]
        return TensorBatch({k: v[index] for k, v in self.fields.items()}, len(index)), y


# ------------------------------------------------------------------------------------------------
# seeds and the factory
# ------------------------------------------------------------------------------------------------
class StartIsEpochZero(Callback):
    """Early stopping that counts the untrained module as epoch 0, and keeps it unless training clearly beats it.

    Before the first epoch of a training call with a validation split, the module as initialised
    is scored on the validation rows (``valid_loss_start`` in that epoch's history row) and handed
    to the :class:`~skorch.callbacks.EarlyStopping` callbacks on ``valid_loss`` as their best so
    far: training ends with weights at least as good on validation as the start, which are
    restored when no epoch beats them.

    When an epoch does beat the start, the start is still kept unless the best epoch's mean
    validation loss is lower by more than one standard error of the per-row difference (the
    one-standard-error rule of Breiman et al., 1984, with the start as the simplest model): a
    gain within the noise of the validation rows is not taken as a gain. The outcome is recorded
    as ``start_kept`` (bool) and ``valid_gain_se`` (the gain in standard errors) in the last
    history row, and the early-stopping callbacks' ``best_epoch_`` is set to 0 when the start is
    kept.

    Parameters
    ----------
    n_standard_errors : float >= 0, default=1.0
        The margin, in standard errors; 0 keeps the start only when no epoch beats it.
    """

    def __init__(self, n_standard_errors=1.0):
        self.n_standard_errors = n_standard_errors

    def on_train_begin(self, net, **kwargs):
        self.pending_ = True
        self.start_weights_ = self.start_losses_ = self.dataset_valid_ = None

    def _stops(self, net):
        return [cb for _, cb in net.callbacks_
                if isinstance(cb, EarlyStopping) and cb.monitor == "valid_loss" and cb.lower_is_better]

    @staticmethod
    def _row_losses(net, dataset_valid):
        """The criterion of every validation row (``reduction="none"``), in float64."""
        criterion = copy(net.criterion_)
        criterion.reduction = "none"
        losses = []
        net.module_.eval()
        with torch.no_grad():
            for batch in net.get_iterator(dataset_valid, training=False):
                Xi, yi = unpack_data(batch)
                loss = criterion(net.infer(Xi), yi.to(net.device))
                losses.append(loss.reshape(len(loss), -1).sum(dim=1).double().cpu())
        return torch.cat(losses).numpy()

    def on_epoch_begin(self, net, dataset_valid=None, **kwargs):
        if not getattr(self, "pending_", False):
            return
        self.pending_ = False
        stops = self._stops(net)
        if dataset_valid is None or not stops:
            return
        self.start_losses_ = self._row_losses(net, dataset_valid)
        self.start_weights_ = deepcopy(net.module_.state_dict())
        loss = float(self.start_losses_.mean())
        net.history.record("valid_loss_start", loss)
        for stop in stops:
            stop.dynamic_threshold_ = stop._calc_new_threshold(loss)
            stop.best_epoch_ = 0
            stop.best_model_weights_ = self.start_weights_ if stop.load_best else None
        self.dataset_valid_ = dataset_valid

    def on_train_end(self, net, **kwargs):
        start_losses, start_weights, dataset_valid = self.start_losses_, self.start_weights_, self.dataset_valid_
        self.start_losses_ = self.start_weights_ = self.dataset_valid_ = None  # nothing kept in a pickle
        stops = self._stops(net)
        if start_losses is None or not stops or not len(net.history):
            return
        if all(stop.best_epoch_ == 0 for stop in stops):  # EarlyStopping restored the start already
            net.history.record("start_kept", True)
            return
        gain = start_losses - self._row_losses(net, dataset_valid)  # the restored best epoch's
        se = gain.std(ddof=1) / np.sqrt(len(gain)) if len(gain) > 1 else 0.0
        z = float(gain.mean() / se) if se > 0 else (np.inf if gain.mean() > 0 else 0.0)
        keep = not z > self.n_standard_errors
        net.history.record("valid_gain_se", z)
        net.history.record("start_kept", keep)
        if keep:
            net.module_.load_state_dict(start_weights)
            for stop in stops:
                stop.best_epoch_ = 0


class ChunkedRandomSampler(torch.utils.data.RandomSampler):
    """PyTorch's ``RandomSampler`` without a Python list of every sample index.

    ``RandomSampler`` hands out ``torch.randperm(n).tolist()``: a list of ``n`` Python ints that
    lives for the whole epoch (about 13 MiB for 370,000 samples). This sampler draws the same
    permutations from the same generator, in the same order, and converts them to ints one
    chunk of ``chunk`` indices at a time: the same indices, so training is unchanged.
    """

    chunk = 1 << 16

    def __iter__(self):
        if self.replacement or self.generator is None:  # not ours: torch's own behaviour
            yield from super().__iter__()
            return
        n = len(self.data_source)
        for _ in range(self.num_samples // n):
            for part in torch.randperm(n, generator=self.generator).split(self.chunk):
                yield from part.tolist()
        # torch draws one more permutation for the remainder, even when it is empty
        yield from torch.randperm(n, generator=self.generator)[: self.num_samples % n].tolist()


class ShuffleLoader(torch.utils.data.DataLoader):
    """The training data loader: ``shuffle=True`` samples with :class:`ChunkedRandomSampler`."""

    def __init__(self, dataset, *, shuffle=False, generator=None, **kwargs):
        if shuffle and kwargs.get("sampler") is None and kwargs.get("batch_sampler") is None:
            kwargs["sampler"] = ChunkedRandomSampler(dataset, generator=generator)
            shuffle = False
        super().__init__(dataset, shuffle=shuffle, generator=generator, **kwargs)


def seed_from(random_state):
    """Turn a ``random_state`` (None, int or RandomState) into one integer seed for torch."""
    from sklearn.utils import check_random_state

    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


def torch_generator(seed):
    """A CPU ``torch.Generator`` seeded with ``seed`` (for data-loader shuffling)."""
    return torch.Generator().manual_seed(int(seed))


def make_net(
    module,
    *,
    criterion,
    seed,
    max_epochs,
    batch_size,
    lr,
    optimizer=torch.optim.Adam,
    weight_decay=0.0,
    lr_step_size=None,
    lr_gamma=0.1,
    validation_fraction=0.2,
    patience=None,
    collate_fn=collate_samples,
    dataset=IndexDataset,
    default_callbacks=(),
    callbacks=None,
    device="cpu",
    verbose=0,
    n_jobs=None,
    training_method="forward",
    **module_params,
):
    """Build the skorch net of an estimator from its user-facing parameters.

    Parameters
    ----------
    module : type of torch.nn.Module
        The module **class** (never an instance, so that clones start untrained).
    criterion : type of torch.nn.Module
        Loss class.
    seed : int
        Seeds shuffling (a ``torch.Generator`` of the training data loader) and the validation split.
    max_epochs, batch_size, lr, optimizer, weight_decay : see the estimators
        Passed to skorch (``optimizer__weight_decay``). Adam and AdamW run their fused
        implementation (``optimizer__fused=True``) on CPU and CUDA devices.
    lr_step_size : int or None, default=None
        Multiply the learning rate by ``lr_gamma`` every ``lr_step_size`` epochs
        (``LRScheduler(policy=StepLR)``); None keeps it constant.
    lr_gamma : float, default=0.1
        Decay factor of the step schedule.
    validation_fraction : float or None, default=0.2
        Share of the training samples held out at random (``ValidSplit``); None trains on all.
    patience : int or None, default=None
        Early-stopping patience on ``valid_loss`` (the best epoch's weights are restored); None,
        or ``validation_fraction=None``, disables early stopping.
    collate_fn : callable, default=collate_samples
        Turns the samples of a mini-batch into ``(TensorBatch, y)``.
    dataset : type of torch.utils.data.Dataset, default=IndexDataset
        What skorch wraps ``X`` in when ``fit`` gets something else than a dataset.
    default_callbacks : sequence of (str, Callback)
        The estimator's own callbacks, placed before the house defaults and the user's.
    callbacks : list of (str, Callback) or None
        User callbacks, appended unchanged.
    device : str, default="cpu"
        Torch device.
    verbose : int, default=0
        0 silent, 1 epoch table, 2 epoch table and progress bar.
    n_jobs : int or None, default=None
        Torch threads while training (:class:`~sklearn_ubergnn._threads.ThreadBudget`, the first
        callback); None sizes them on the module and the CPUs other processes leave free.
    training_method : str, default="forward"
        The module method whose output the criterion gets in training (:class:`GraphNet`).
    **module_params
        Constructor arguments of ``module`` (passed as ``module__*``).

    Returns
    -------
    net : GraphNet
        Not initialised; ``fit`` initialises it.
    """
    all_callbacks = [("thread_budget", ThreadBudget(n_jobs)), *default_callbacks]
    if lr_step_size is not None:
        all_callbacks.append(
            ("lr_scheduler", LRScheduler(policy=torch.optim.lr_scheduler.StepLR, step_size=lr_step_size,
                                         gamma=lr_gamma))
        )
    if validation_fraction is not None and patience is not None:
        all_callbacks.append(
            ("early_stop", EarlyStopping(monitor="valid_loss", patience=patience, load_best=True))
        )
    if verbose >= 2:
        all_callbacks.append(("progress_bar", ProgressBar()))
    all_callbacks.extend(callbacks or [])
    train_split = None
    if validation_fraction is not None:
        train_split = ValidSplit(validation_fraction, stratified=False, random_state=seed)
    optimizer_params = {"weight_decay": weight_decay}
    if optimizer in (torch.optim.Adam, torch.optim.AdamW) and torch.device(device).type in ("cpu", "cuda"):
        # One kernel per parameter instead of ~8 passes over it: Adam over the item embedding
        # (n_items x d, all rows get a gradient through the full softmax) is a hot spot.
        optimizer_params["fused"] = True
    return GraphNet(
        module,
        criterion=criterion,
        optimizer=optimizer,
        **{f"optimizer__{k}": v for k, v in optimizer_params.items()},
        lr=lr,
        max_epochs=max_epochs,
        batch_size=batch_size,
        dataset=dataset,
        iterator_train__collate_fn=collate_fn,
        iterator_valid__collate_fn=collate_fn,
        iterator_train=ShuffleLoader,
        iterator_train__shuffle=True,
        iterator_train__generator=torch_generator(seed),
        # the inference and validation loaders draw their base seed from a generator of their own, not
        # from the global torch RNG (which predict must leave alone)
        iterator_valid__generator=torch_generator(seed),
        train_split=train_split,
        callbacks=all_callbacks,
        device=device,
        verbose=int(verbose >= 1),
        training_method=training_method,
        **{f"module__{k}": v for k, v in module_params.items()},
    )


def fit_net(net, source, seed, *, partial=False, epochs=None, validate=True):
    """Train ``net`` on the batches of ``source``: the one training wrapper of the package.

    Seeds weight initialisation and dropout with ``seed`` inside :func:`torch.random.fork_rng` (the
    caller's global torch RNG is left as it was), runs skorch's ``fit`` (a fresh start) or
    ``partial_fit`` (``partial=True``: more epochs on an initialised net, history and callbacks
    kept), then frees what only training needs (:func:`release_training_state`).

    Parameters
    ----------
    net : GraphNet
        The estimator's net (from :func:`make_net`).
    source : object
        A batch source (see :class:`IndexDataset`), or an ``IndexDataset``.
    seed : int
        Seed of torch's global RNG during training.
    partial : bool, default=False
        Continue training (skorch's ``partial_fit``) instead of starting afresh.
    epochs : int or None, default=None
        With ``partial=True``: number of epochs (None: the net's ``max_epochs``).
    validate : bool, default=True
        With ``partial=True``, False trains on every sample of ``source`` for these epochs: no
        validation split and no early stopping (both are the net's again afterwards).

    Returns
    -------
    net : GraphNet
        The trained net.
    """
    if not (partial or validate):
        raise ValueError("fit_net(validate=False) needs partial=True; a fresh net takes its split from make_net.")
    dataset = source if isinstance(source, IndexDataset) else IndexDataset(source)
    split, callbacks = net.train_split, getattr(net, "callbacks_", None)
    if not validate:
        net.train_split = None
        net.callbacks_ = [(name, cb) for name, cb in callbacks if not isinstance(cb, EarlyStopping)]
    try:
        with torch.random.fork_rng(devices=[]):  # seed weights and dropout, leave the global RNG alone
            torch.manual_seed(int(seed))
            if partial:
                net.partial_fit(dataset, y=None, epochs=epochs)
            else:
                net.fit(dataset, y=None)
    finally:
        if not validate:
            net.train_split, net.callbacks_ = split, callbacks
    return release_training_state(net)


def iter_outputs(net, source, method="forward", *, device=None):
    """Yield the module's outputs, batch by batch (``net.batch_size`` samples), on the CPU.

    skorch's ``forward_iter`` over an :class:`IndexDataset` of ``source``: evaluation mode, no
    gradients, each batch moved to the net's device and fed to ``module.<method>``. Call
    :func:`inference_device` first to choose that device.

    Parameters
    ----------
    net : GraphNet
        A fitted net.
    source : object
        A batch source (see :class:`IndexDataset`).
    method : str, default="forward"
        The module method to call, e.g. ``"forward"`` (scores) or ``"embed"``.
    device : str or None, default=None
        Where the outputs are put; None leaves them on the CPU.

    Yields
    ------
    output : torch.Tensor
        The module's output for one batch, in sample order.
    """
    yield from net.forward_iter(IndexDataset(source, method), training=False, device=device or "cpu")


def inference_device(net, device):
    """Put a fitted net on the device it predicts on and return that device.

    That is ``device`` (the estimator's parameter, which ``set_params`` may have changed after
    ``fit``), or the CPU when ``device`` is CUDA but no GPU is present (e.g. a model trained on a
    GPU and loaded on a CPU-only machine).
    """
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        device = torch.device("cpu")
    module = net.module_
    if next(module.parameters()).device != device:
        module.to(device)
    if torch.device(net.device) != device:
        net.device = str(device)
    return device


def release_training_state(net):
    """Free what only training needs, once ``fit`` is over: the optimiser's moment estimates and
    early stopping's copy of the best weights (already loaded into the module); leave the module in
    evaluation mode (no dropout), as a user who takes ``net.module_`` out expects.

    The fitted net predicts exactly as before and pickles at about a third of the size (Adam keeps two
    buffers per parameter). Continuing training with ``net.partial_fit`` starts fresh moment estimates.
    """
    for optimizer in getattr(net, "_optimizers", ()):
        opt = getattr(net, optimizer + "_", None)
        if opt is not None:
            opt.state.clear()
    for _, callback in getattr(net, "callbacks_", ()):
        if isinstance(callback, EarlyStopping) and hasattr(callback, "best_model_weights_"):
            callback.best_model_weights_ = None
    module = getattr(net, "module_", None)
    if module is not None:
        module.eval()
    return net
