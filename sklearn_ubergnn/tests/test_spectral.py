"""The spectral start of the bipartite embedder: the leading singular vectors of the normalised graph."""
import numpy as np
import pytest
import torch
from skorch.callbacks import Callback

from sklearn_ubergnn._skorch import seed_from
from sklearn_ubergnn.datasets import make_bipartite
from sklearn_ubergnn.disentangled import DisentangledGraphEmbedder, train_test_split_edges
from sklearn_ubergnn.disentangled._spectral import spectral_start
from sklearn_ubergnn.graphs import build_bipartite_graph
from sklearn_ubergnn.nn import DisentangledGraphNet

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # conftest.py


def _dense_normalised(graph):
    """``D_u^{-1/2} R D_i^{-1/2}`` by hand (dense)."""
    r = np.zeros((graph.n_users, graph.n_items))
    np.add.at(r, (graph.user, graph.item), graph.weight)
    du, di = r.sum(axis=1), r.sum(axis=0)
    with np.errstate(divide="ignore"):
        su, si = np.where(du > 0, du ** -0.5, 0.0), np.where(di > 0, di ** -0.5, 0.0)
    return su[:, None] * r * si[None, :]


def test_spectral_start_reconstructs_the_normalised_matrix():
    rng = np.random.default_rng(0)
    user, item = rng.integers(0, 7, 25), rng.integers(0, 5, 25)
    user, item = np.unique(np.c_[user, item], axis=0).T
    graph = build_bipartite_graph(user, item, 7, 5, weight=rng.uniform(0.5, 2.0, len(user)))
    start = spectral_start(graph, 64, scale=0.1, random_state=0)
    # rank min(64, 7, 5) = 5 is the whole spectrum: users . items = R~ up to the rescaling
    assert start.shape == (12, 5) and start.dtype == np.float32
    assert start.std() == pytest.approx(0.1, rel=1e-5)
    products = start[:7].astype(np.float64) @ start[7:].T
    expected = _dense_normalised(graph)
    factor = products.ravel() @ expected.ravel() / (expected.ravel() @ expected.ravel())
    np.testing.assert_allclose(products, factor * expected, atol=1e-6)
    # rank 2: the best rank-2 approximation of R~ (Eckart–Young), the ideal low-pass filter of GF-CF
    start = spectral_start(graph, 2, scale=1.0, random_state=0).astype(np.float64)
    u, s, vt = np.linalg.svd(expected)
    low_pass = (u[:, :2] * s[:2]) @ vt[:2]
    products = start[:7] @ start[7:].T
    np.testing.assert_allclose(products / np.abs(products).max(), low_pass / np.abs(low_pass).max(), atol=1e-4)


def test_spectral_start_leaves_nodes_without_weight_at_zero():
    graph = build_bipartite_graph(np.array([0, 0, 1, 2]), np.array([0, 1, 1, 2]), 3, 3,
                                  weight=np.array([1.0, 1.0, 2.0, 0.0], dtype=np.float32))
    start = spectral_start(graph, 2, scale=0.1, random_state=0)
    assert not start[2].any() and not start[3 + 2].any()  # user 2 and item 2: one edge of weight 0
    assert np.abs(start[[0, 1, 3, 4]]).sum(axis=1).min() > 0


def test_init_embedding_starts_the_first_columns_of_the_id_table():
    start = torch.tensor([[1.0, 2.0], [0.0, 0.0], [3.0, -1.0], [0.5, 0.5], [1.0, 1.0]])
    torch.manual_seed(0)
    random = DisentangledGraphNet(2, 3, embedding_dim=4, n_channels=2, n_layers=1).embedding.weight.detach()
    torch.manual_seed(0)
    net = DisentangledGraphNet(2, 3, embedding_dim=4, n_channels=2, n_layers=1, init_embedding=start)
    table = net.embedding.weight.detach()
    torch.testing.assert_close(table[[0, 2, 3, 4], :2], start[[0, 2, 3, 4]])
    torch.testing.assert_close(table[:, 2:], random[:, 2:])   # the columns past the start stay random
    torch.testing.assert_close(table[1], random[1])            # so does a zero row
    with pytest.raises(ValueError, match="init_embedding must have size 5 in dimension 0"):
        DisentangledGraphNet(2, 3, embedding_dim=4, n_channels=2, init_embedding=start[:4])
    with pytest.raises(ValueError, match="at most embedding_dim=4 columns; got 6"):
        DisentangledGraphNet(2, 3, embedding_dim=4, n_channels=2, init_embedding=torch.ones(5, 6))


class _TableAtStart(Callback):
    """Keeps a copy of the module's ID table when training begins."""

    def on_train_begin(self, net, **kwargs):
        self.table_ = net.module_.embedding.weight.detach().clone()


@pytest.fixture(scope="module")
def planted():
    edges, _, _ = make_bipartite(n_users=300, n_items=120, edges_per_user=20, concentration=0.2, random_state=1)
    return train_test_split_edges(edges, 0.2, random_state=0)


def test_the_embedder_trains_from_the_spectral_start(planted):
    train, test = planted
    watch = _TableAtStart()
    model = DisentangledGraphEmbedder(max_epochs=3, random_state=0, callbacks=[("watch", watch)]).fit(train)
    expected = spectral_start(model.graph_, 64, scale=0.1, random_state=seed_from(0))
    np.testing.assert_allclose(watch.table_.numpy(), expected, rtol=1e-6)
    assert model.net_.module__init_embedding is None  # not pickled a second time beside the weights
    # three steps (3,728 edges, batch 8,192) from the graph's spectrum rank far ahead of three from noise
    random = DisentangledGraphEmbedder(max_epochs=3, init="random", random_state=0).fit(train)
    assert model.score(test) > random.score(test) + 0.03
    with pytest.raises(ValueError, match="The 'init' parameter of DisentangledGraphEmbedder must be"):
        DisentangledGraphEmbedder(init="svd").fit(train)


@pytest.mark.parametrize(("n_edges", "batch_size", "expected"), [
    (4_800, 8192, 10),         # one step a pass: the cap of 10 passes
    (80_000, 8192, 10),        # MovieLens-100k: 10 steps a pass, 100 in all
    (813_611, 8192, 5),        # the million-edge stand-in: 100 steps a pass, 500 in all
    (4_096_000, 8192, 1),      # 500 steps in one pass
    (40_000_000, 8192, 1),     # never fewer than one pass
    (813_611, 1024, 1),
])
def test_auto_epochs_make_about_five_hundred_steps(n_edges, batch_size, expected):
    model = DisentangledGraphEmbedder(batch_size=batch_size)
    assert model._resolve_epochs(n_edges) == expected
    assert DisentangledGraphEmbedder(max_epochs=7)._resolve_epochs(n_edges) == 7


def test_auto_epochs_are_the_passes_trained(planted):
    model = DisentangledGraphEmbedder(batch_size=1024, random_state=0).fit(planted[0])
    # 3,728 training edges, 4 steps of 1,024 a pass: 10 passes, capped
    assert len(planted[0]) == 3728 and model.n_epochs_ == 10 and len(model.history_) == 10
    model = DisentangledGraphEmbedder(batch_size=16, embedding_dim=8, n_channels=2, random_state=0).fit(planted[0])
    assert model.n_epochs_ == 3 and len(model.history_) == 3  # 233 steps of 16 a pass: 3 make 500
