"""Tests of the shared skorch glue: datasets, collation, the net factory."""
import pickle

import numpy as np
import pytest
import torch
from skorch.callbacks import EarlyStopping, LRScheduler, ProgressBar
from skorch.dataset import ValidSplit

from sklearn_ubergnn._skorch import (
    ChunkedRandomSampler,
    GraphNet,
    IndexDataset,
    SampleIndex,
    ShuffleLoader,
    StartIsEpochZero,
    TensorBatch,
    collate_samples,
    iter_outputs,
    make_net,
    release_training_state,
    seed_from,
    torch_generator,
)
from sklearn_ubergnn._validation import FlatSessions
from sklearn_ubergnn.graphs import build_session_graphs
from sklearn_ubergnn.nn import UberGNN
from sklearn_ubergnn.session._data import SessionGraphSource


@pytest.fixture
def source():
    # codes of 5 sessions over 6 items; -1 is an unseen item
    codes = FlatSessions(np.array([0, 1, 2, 1, 3, -1, 4, 5, 5, 0, 2]), np.array([0, 3, 5, 6, 9, 11]))
    fields = np.arange(10, dtype=np.int64).reshape(5, 2) % 3
    return SessionGraphSource(codes, np.arange(100, 106), user_fields=fields, y=np.array([3, 4, 0, 1, 2]))


@pytest.fixture
def dataset(source):
    return IndexDataset(source)


def test_take_sessions():
    sessions = FlatSessions(np.array([1, 2, 3, 4, 5, 6]), np.array([0, 2, 3, 6]))
    out = sessions.take(np.array([2, 0, 2]))
    assert out.to_list() == [[4, 5, 6], [1, 2], [4, 5, 6]]
    assert len(sessions.take(np.array([], dtype=np.int64))) == 0


def test_tensor_batch_len_and_to():
    batch = TensorBatch({"a": torch.zeros(7), "b": torch.zeros(2, 3)}, 2)
    assert len(batch) == 2
    assert batch.to("cpu") is batch  # nothing to move
    assert batch.to(torch.device("cpu")).fields["a"].shape == (7,)


def test_source_batch_equals_building_directly(source):
    index = np.array([4, 1, 2])
    batch, y = source.batch(index)
    expected = build_session_graphs(source.sessions.take(index), source.classes).to_torch()
    assert len(batch) == 3
    assert set(batch.fields) == set(expected) | {"user_fields"}
    for name, tensor in expected.items():
        torch.testing.assert_close(batch.fields[name], tensor)
    torch.testing.assert_close(batch.fields["user_fields"], torch.as_tensor(source.user_fields[index]))
    torch.testing.assert_close(y, torch.tensor([2, 4, 0]))
    assert batch.fields["last_node"][1] >= 0  # session 1 keeps its known click


def test_collate_accepts_one_index_or_a_list(dataset):
    from_items = collate_samples([dataset[4], dataset[1]])
    from_batch = collate_samples(dataset.__getitems__([4, 1]))
    assert isinstance(dataset[0], SampleIndex)
    for name in from_items[0].fields:
        torch.testing.assert_close(from_items[0].fields[name], from_batch[0].fields[name])
    torch.testing.assert_close(from_items[1], from_batch[1])


def test_data_loader_and_valid_split_use_whole_batches(dataset, source):
    train, valid = ValidSplit(0.4, stratified=False, random_state=0)(dataset)
    loader = torch.utils.data.DataLoader(train, batch_size=2, shuffle=True, collate_fn=collate_samples,
                                         generator=torch_generator(0))
    seen = []
    for batch, y in loader:
        assert isinstance(batch, TensorBatch) and len(batch) == len(y)
        seen.extend(y.tolist())
    assert sorted(seen) == sorted(source.y[train.indices].tolist())
    assert len(seen) + len(valid) == len(dataset)


def test_inference_batches_cover_the_data_in_order(source):
    net = _net(validation_fraction=None, field_sizes=None).initialize()
    plain = SessionGraphSource(source.sessions, source.classes)
    parts = list(iter_outputs(net, plain))
    assert [len(p) for p in parts] == [2, 2, 1]
    expected = net.infer(plain.batch(np.arange(5))[0])
    torch.testing.assert_close(torch.cat(parts), expected)


def test_source_checks_lengths(source):
    with pytest.raises(ValueError, match="user_fields must have one row per session"):
        SessionGraphSource(source.sessions, source.classes, user_fields=np.zeros((2, 1), dtype=np.int64))
    with pytest.raises(ValueError, match="y must have one entry per session"):
        SessionGraphSource(source.sessions, source.classes, y=np.zeros(2, dtype=np.int64))


def test_seed_from_is_deterministic():
    assert seed_from(3) == seed_from(3)
    assert seed_from(np.random.RandomState(3)) == seed_from(3)
    assert isinstance(seed_from(None), int)


def _net(**kwargs):
    params = {"criterion": torch.nn.CrossEntropyLoss, "seed": 0, "max_epochs": 2, "batch_size": 2, "lr": 0.01,
              "n_items": 6, "hidden_size": 4, "field_sizes": [3, 3]}
    params.update(kwargs)
    return make_net(UberGNN, **params)


def test_make_net_callbacks():
    names = lambda net: [name for name, _ in net.callbacks]
    assert names(_net()) == ["thread_budget"]
    assert names(_net(patience=2, lr_step_size=3)) == ["thread_budget", "lr_scheduler", "early_stop"]
    assert names(_net(patience=2, validation_fraction=None)) == ["thread_budget"]
    assert names(_net(verbose=2, callbacks=[("mine", ProgressBar())])) == ["thread_budget", "progress_bar", "mine"]
    assert dict(_net(n_jobs=3).callbacks)["thread_budget"].n_jobs == 3
    net = _net(patience=2, lr_step_size=3, lr_gamma=0.5)
    callbacks = dict(net.callbacks)
    assert isinstance(callbacks["early_stop"], EarlyStopping) and callbacks["early_stop"].patience == 2
    assert isinstance(callbacks["lr_scheduler"], LRScheduler)
    assert callbacks["lr_scheduler"].kwargs == {"step_size": 3, "gamma": 0.5}
    assert isinstance(net, GraphNet) and net.module is UberGNN  # a class, never an instance
    assert _net(validation_fraction=None).train_split is None
    assert _net().get_params()["optimizer__fused"] is True


def test_graph_net_trains_and_releases_state(dataset, source):
    net = _net(validation_fraction=None)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net.fit(dataset, y=None)
    assert len(net.history) == 2 and np.isfinite(net.history[-1, "train_loss"])
    assert len(net.optimizer_.state) > 0
    batch, _ = source.batch(np.arange(len(dataset)))
    logits = net.infer(batch)
    assert logits.shape == (len(dataset), 6)
    size = len(pickle.dumps(net))
    release_training_state(net)
    assert len(net.optimizer_.state) == 0
    assert len(pickle.dumps(net)) < size
    torch.testing.assert_close(pickle.loads(pickle.dumps(net)).infer(batch), logits)


# ------------------------------------------------------------------------------------------------
# the one dataset, training wrapper and inference loop
# ------------------------------------------------------------------------------------------------
class _Linear(torch.nn.Module):
    def __init__(self, in_features=3):
        super().__init__()
        self.linear = torch.nn.Linear(in_features, 1)

    def forward(self, x):
        return self.linear(x)[:, 0]

    def doubled(self, x):
        return 2 * self.forward(x)


def test_index_dataset_batches_come_from_the_source():
    from sklearn_ubergnn._skorch import ArraySource, IndexDataset, collate_samples

    source = ArraySource({"x": np.arange(12, dtype=np.float32).reshape(4, 3)}, y=[0, 1, 2, 3])
    dataset = IndexDataset(source, method="doubled")
    assert len(dataset) == 4
    batch, y = collate_samples(dataset.__getitems__([3, 1]))
    assert batch.method == "doubled" and len(batch) == 2
    torch.testing.assert_close(batch.fields["x"], torch.tensor([[9.0, 10, 11], [3, 4, 5]]))
    torch.testing.assert_close(y, torch.tensor([3.0, 1.0]))
    same, _ = collate_samples([dataset[3], dataset[1]])  # one SampleIndex per sample
    torch.testing.assert_close(same.fields["x"], batch.fields["x"])
    with pytest.raises(ValueError, match="same length"):
        ArraySource({"x": np.zeros((4, 3))}, y=np.zeros(5))


def test_fit_net_is_seeded_and_iter_outputs_calls_the_method():
    from sklearn_ubergnn._skorch import ArraySource, fit_net, iter_outputs

    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 3)).astype(np.float32)
    source = ArraySource({"x": X}, y=X @ np.array([1.0, -2.0, 0.5]))

    def trained(seed):
        net = make_net(_Linear, criterion=torch.nn.MSELoss, seed=seed, max_epochs=30, batch_size=16, lr=0.05,
                       validation_fraction=None, optimizer=torch.optim.SGD)
        return fit_net(net, source, seed)

    state = torch.random.get_rng_state()
    a, b = trained(1), trained(1)
    assert torch.equal(torch.random.get_rng_state(), state)  # the caller's RNG is left alone
    torch.testing.assert_close(a.module_.linear.weight, b.module_.linear.weight)
    assert a.history[-1, "train_loss"] < 0.1 * a.history[0, "train_loss"]
    epochs = len(a.history)
    fit_net(a, source, 2, partial=True)  # more epochs, history kept
    assert len(a.history) == 2 * epochs
    inputs = ArraySource({"x": X})
    out = torch.cat(list(iter_outputs(a, inputs, "doubled")))
    torch.testing.assert_close(out, 2 * a.module_(torch.from_numpy(X)).detach())
    assert torch.is_grad_enabled()


def test_graph_source_slices_a_prebuilt_batch_like_it_builds_from_codes(source):
    prebuilt = SessionGraphSource(build_session_graphs(source.sessions, source.classes), source.classes,
                                  source.user_fields, source.y)
    for index in (np.array([4, 1, 2]), np.array([3, 3, 0]), np.arange(5), np.array([2])):
        (built, y_built), (sliced, y_sliced) = source.batch(index), prebuilt.batch(index)
        assert set(built.fields) == set(sliced.fields) and len(built) == len(sliced)
        for name, tensor in built.fields.items():
            torch.testing.assert_close(sliced.fields[name], tensor)
        torch.testing.assert_close(y_sliced, y_built)


def test_padded_source_through_the_one_dataset():
    from sklearn_ubergnn.session._data import PaddedSessionSource

    codes = FlatSessions(np.array([3, -1, 2, 5, 1]), np.array([0, 3, 5]))
    batch, y = collate_samples(IndexDataset(PaddedSessionSource(codes, y=np.array([1, 2]))).__getitems__([1, 0]))
    np.testing.assert_array_equal(batch.fields["items"].numpy(), [[5, 1], [3, 2]])
    np.testing.assert_array_equal(y.numpy(), [2, 1])


def test_fit_net_partial_without_validation_restores_the_split_and_early_stopping():
    from sklearn_ubergnn._skorch import ArraySource, fit_net

    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 3)).astype(np.float32)
    source = ArraySource({"x": X}, y=X @ np.array([1.0, -2.0, 0.5]))
    net = make_net(_Linear, criterion=torch.nn.MSELoss, seed=0, max_epochs=3, batch_size=16, lr=0.05,
                   validation_fraction=0.25, patience=2, optimizer=torch.optim.SGD)
    fit_net(net, source, 0)
    split, callbacks = net.train_split, list(net.callbacks_)
    n_epochs = len(net.history)
    fit_net(net, source, 1, partial=True, epochs=2, validate=False)
    assert len(net.history) == n_epochs + 2
    assert "valid_loss" not in net.history[-1] and "valid_loss" in net.history[n_epochs - 1]
    assert net.train_split is split and net.callbacks_ == callbacks  # the net's own again
    with pytest.raises(ValueError, match="partial=True"):
        fit_net(net, source, 0, validate=False)


class _Started(torch.nn.Module):
    """A linear regression that starts at the weights ``w`` (bias 0): a fitted start, as the wide part."""

    def __init__(self, w=(0.0, 0.0, 0.0)):
        super().__init__()
        self.linear = torch.nn.Linear(3, 1)
        with torch.no_grad():
            self.linear.weight.copy_(torch.tensor([w], dtype=torch.float32))
            self.linear.bias.zero_()

    def forward(self, x):
        return self.linear(x)[:, 0]


def _from_start(w, noise, n_standard_errors=1.0):
    """Full-batch gradient descent on y = x.(1, -2, 0.5) + heavy-tailed noise, from the start ``w``, with
    the start as epoch 0 of early stopping (100 of the 400 rows validate)."""
    from sklearn_ubergnn._skorch import ArraySource, fit_net

    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 3)).astype(np.float32)
    y = (X @ np.array([1.0, -2.0, 0.5]) + noise * rng.standard_t(2, size=400)).astype(np.float32)
    callback = StartIsEpochZero(n_standard_errors)
    net = make_net(_Started, criterion=torch.nn.MSELoss, seed=0, max_epochs=5, batch_size=400, lr=0.05,
                   validation_fraction=0.25, patience=5, optimizer=torch.optim.SGD, w=w,
                   callbacks=[("start", callback)])
    fit_net(net, ArraySource({"x": X}, y=y), 0)
    return net, net.module_.linear.weight.detach().numpy().ravel()


def test_start_is_kept_unless_training_beats_it_by_a_standard_error():
    """The one-standard-error rule: a start close to the truth, under heavy noise, is beaten by every epoch
    on the mean validation loss, but by less than one standard error of the per-row gain, so its weights are
    kept and the early stopping's best epoch becomes 0; a start far from the truth is beaten clearly."""
    near = (1.1, -2.0, 0.5)
    net, weights = _from_start(near, noise=3.0)
    history = net.history
    assert (np.array(history[:, "valid_loss"]) < history[0]["valid_loss_start"]).any()  # an epoch beat the start
    assert history[-1]["start_kept"] and 0 < history[-1]["valid_gain_se"] <= 1
    np.testing.assert_array_equal(weights, np.array(near, dtype=np.float32))
    assert dict(net.callbacks_)["early_stop"].best_epoch_ == 0
    assert dict(net.callbacks_)["start"].start_losses_ is None  # nothing kept for a pickle
    # with no margin, any gain counts: the trained weights stay
    net, weights = _from_start(near, noise=3.0, n_standard_errors=0.0)
    assert not net.history[-1]["start_kept"] and not np.array_equal(weights, np.array(near, dtype=np.float32))
    # a start far from the truth, little noise: training is many standard errors better
    net, weights = _from_start((0.0, 0.0, 0.0), noise=0.5)
    assert not net.history[-1]["start_kept"] and net.history[-1]["valid_gain_se"] > 5
    assert dict(net.callbacks_)["early_stop"].best_epoch_ == len(net.history)
    assert np.abs(weights).sum() > 0.5


@pytest.mark.parametrize("n, num_samples, chunk", [(10, None, 3), (7, 16, 4), (5, 3, 2), (1, None, 1)])
def test_chunked_sampler_draws_what_torch_draws(n, num_samples, chunk):
    """Same generator seed: the same indices as torch's RandomSampler, epoch after epoch, and the generator ends
    in the same state (the training loop draws from it afterwards)."""
    data = range(n)
    ours_gen, torch_gen = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    ours = ChunkedRandomSampler(data, num_samples=num_samples, generator=ours_gen)
    ours.chunk = chunk
    theirs = torch.utils.data.RandomSampler(data, num_samples=num_samples, generator=torch_gen)
    for _ in range(3):
        assert list(ours) == list(theirs)
    assert torch.equal(ours_gen.get_state(), torch_gen.get_state())


def test_shuffle_loader_batches_like_a_shuffled_data_loader():
    data = list(range(23))
    ours = ShuffleLoader(data, batch_size=5, shuffle=True, generator=torch.Generator().manual_seed(0))
    theirs = torch.utils.data.DataLoader(data, batch_size=5, shuffle=True, generator=torch.Generator().manual_seed(0))
    for _ in range(2):
        assert [b.tolist() for b in ours] == [b.tolist() for b in theirs]
    plain = ShuffleLoader(data, batch_size=5)  # no shuffle: in order
    assert next(iter(plain)).tolist() == [0, 1, 2, 3, 4]
