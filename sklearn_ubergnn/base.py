"""What every torch-backed estimator of the package shares: its training knobs, net, device and threads.

:class:`_NetEstimator` is a mixin placed before :class:`sklearn.base.BaseEstimator`. It holds no
parameters of its own (scikit-learn reads them from the subclass's ``__init__``); it turns the
training knobs a subclass has (``max_epochs``, ``batch_size``, ``lr``, ``weight_decay``,
``lr_step_size``, ``lr_gamma``, ``validation_fraction``, ``patience``, ``callbacks``, ``device``,
``verbose``, ``n_jobs``) into a skorch net, trains it with the one training wrapper
(:func:`~sklearn_ubergnn._skorch.fit_net`), with ``refit`` the field's protocol (the epochs chosen
on the validation split, then every sample: :meth:`_NetEstimator._fit_refit`), and reads the
module's outputs batch by batch (:func:`~sklearn_ubergnn._skorch.iter_outputs`). Estimators never do tensor maths: scores,
probabilities and embeddings come from their module's methods.
"""
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.utils._param_validation import Interval

from ._skorch import fit_net, inference_device, iter_outputs, make_net
from ._validation import check_validation_split

__all__ = ["TRAINING_CONSTRAINTS", "_NetEstimator", "_best_epoch"]

#: ``_parameter_constraints`` of the training knobs, shared by every torch estimator.
TRAINING_CONSTRAINTS = {
    "batch_size": [Interval(Integral, 1, None, closed="left")],
    "lr": [Interval(Real, 0, None, closed="neither")],
    "lr_step_size": [Interval(Integral, 1, None, closed="left"), None],
    "lr_gamma": [Interval(Real, 0, 1, closed="right")],
    "weight_decay": [Interval(Real, 0, None, closed="left")],
    "max_epochs": [Interval(Integral, 1, None, closed="left")],
    "validation_fraction": [Interval(Real, 0, 1, closed="neither"), None],
    "patience": [Interval(Integral, 1, None, closed="left"), None],
    "callbacks": [list, None],
    "device": [str, torch.device],
    "random_state": ["random_state"],
    "verbose": ["verbose"],
    "n_jobs": [Integral, None],
}


class _NetEstimator:
    """Mixin of the torch-backed estimators: build, train and query one skorch net.

    Sets ``net_`` and ``history_`` in :meth:`_fit_net`. Knobs a subclass does not have take
    the value that switches them off (no learning-rate schedule, no validation split, no early
    stopping, no callbacks).
    """

    #: the module method whose output the criterion gets in training (see ``GraphNet``)
    _training_method = "forward"

    def _make_net(self, module, *, criterion, seed, n_samples, validation=True, train_split=None,
                  max_epochs=None, **module_params):
        """The estimator's skorch net (not initialised) for ``n_samples`` training samples.

        ``seed`` (from :func:`~sklearn_ubergnn._skorch.seed_from` of ``random_state``, once per
        ``fit``) seeds shuffling and the validation split.
        ``validation=False`` trains on every sample whatever ``validation_fraction`` says;
        ``max_epochs`` replaces the estimator's (e.g. the epochs a validation run chose);
        ``train_split`` replaces skorch's random ``ValidSplit`` (e.g. a chronological split) when
        a validation split is made.
        """
        fraction = getattr(self, "validation_fraction", None) if validation else None
        fraction = check_validation_split(n_samples, fraction, chronological=train_split is not None)
        net = make_net(
            module,
            criterion=criterion,
            seed=seed,
            max_epochs=self.max_epochs if max_epochs is None else max_epochs,
            batch_size=self.batch_size,
            lr=self.lr,
            weight_decay=getattr(self, "weight_decay", 0.0),
            lr_step_size=getattr(self, "lr_step_size", None),
            lr_gamma=getattr(self, "lr_gamma", 0.1),
            validation_fraction=fraction,
            patience=getattr(self, "patience", None),
            callbacks=getattr(self, "callbacks", None),
            device=self.device,
            verbose=self.verbose,
            n_jobs=self.n_jobs,
            training_method=self._training_method,
            **module_params,
        )
        if fraction is not None and train_split is not None:
            net.train_split = train_split
        return net

    def _fit_net(self, net, source, seed, *, partial=False, epochs=None, validate=True):
        """Train ``net`` on ``source`` (:func:`~sklearn_ubergnn._skorch.fit_net`); sets ``net_``, ``history_``."""
        self.net_ = fit_net(net, source, seed, partial=partial, epochs=epochs, validate=validate)
        self.history_ = self.net_.history
        return self.net_

    def _fit_refit(self, make_net, source, seed):
        """Train on ``source``; with ``refit``, choose the epochs on the validation split, then use every sample.

        GridSearchCV's refit for the number of epochs: the net ``make_net(None)`` trains with its
        validation split and early stopping, which choose ``best_epoch_`` (:func:`_best_epoch`);
        when the estimator's ``refit`` is true and that run validated, or when it chose epoch 0
        (the start that :class:`~sklearn_ubergnn._skorch.StartIsEpochZero` scores, whose refit
        trains no epoch and only refits the start on every sample), the fresh net
        ``make_net(best_epoch_)`` (no validation split, ``max_epochs=best_epoch_``, the same
        ``seed``) trains on every sample of ``source`` and becomes ``net_``, the first run's
        history being kept as ``selection_history_`` (None otherwise). Sets ``net_``,
        ``history_``, ``best_epoch_`` and ``selection_history_``.
        """
        self._fit_net(make_net(None), source, seed)
        self.best_epoch_ = _best_epoch(self.net_)
        self.selection_history_ = None
        start_kept = self.best_epoch_ == 0  # the start (a regression fitted beside the net) won: refit it on every row
        if (getattr(self, "refit", False) or start_kept) and "valid_loss" in self.history_[-1]:
            self.selection_history_ = self.history_
            self._fit_net(make_net(self.best_epoch_), source, seed)
        return self.net_

    def _outputs(self, source, method="forward"):
        """The fitted module's ``method`` on every batch of ``source``, on the CPU (a generator)."""
        inference_device(self.net_, self.device)
        return iter_outputs(self.net_, source, method)


def _best_epoch(net):
    """The number of epochs of the network ``net`` ends with.

    With early stopping, the epoch whose weights it restored: the last one that improved
    ``valid_loss`` by more than its threshold (skorch's ``EarlyStopping.best_epoch_``; a later
    epoch that improves by less does not count, so a refit does not train on for it). With a
    validation split and no early stopping, the epoch of lowest ``valid_loss``; otherwise every
    epoch trained. When the history scores the untrained module as epoch 0 (``valid_loss_start``
    in its first row, recorded by the dynamic classifier), 0 means that the start was kept.
    """
    history = net.history
    start = history[0].get("valid_loss_start") if len(history) else None
    early_stop = dict(getattr(net, "callbacks_", [])).get("early_stop")
    if early_stop is not None and (getattr(early_stop, "best_epoch_", 0) or start is not None):
        return int(early_stop.best_epoch_)
    if "valid_loss" not in history[-1]:
        return len(history)
    if start is not None:
        return int(np.argmin([start, *history[:, "valid_loss"]]))
    return int(np.argmin(history[:, "valid_loss"])) + 1
