"""Bounded neighbourhoods (NeighborSampler) and the bipartite training that runs on them."""
import itertools
import math
from collections import Counter

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from sklearn_ubergnn.datasets import make_bipartite
from sklearn_ubergnn.disentangled import (
    DisentangledGraphEmbedder,
    MostPopularRecommender,
    train_test_split_edges,
)
from sklearn_ubergnn.disentangled._data import EdgeSource
from sklearn_ubergnn.graphs import NeighborSampler, build_bipartite_graph
from sklearn_ubergnn.graphs._sampling import node_blocks
from sklearn_ubergnn.nn import DisentangledGraphNet, LightGCN, SampledSoftmaxLoss
from sklearn_ubergnn.nn._disentangled import _equal_pairs

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # conftest.py


@st.composite
def directed_graphs(draw):
    n = draw(st.integers(2, 12))
    m = draw(st.integers(0, 40))
    src = draw(st.lists(st.integers(0, n - 1), min_size=m, max_size=m))
    dst = draw(st.lists(st.integers(0, n - 1), min_size=m, max_size=m))
    targets = draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=6))
    return n, np.array(src, dtype=np.int64), np.array(dst, dtype=np.int64), np.array(targets)


def _in_edges(src, dst, nodes):
    """The (src, dst, position) of the in-edges of ``nodes``, by a loop (the reference)."""
    return sorted((int(src[e]), int(dst[e]), e) for e in range(len(src)) if dst[e] in set(nodes.tolist()))


@settings(max_examples=60, deadline=None)
@given(directed_graphs(), st.integers(1, 3))
def test_exact_sampling_is_the_in_neighbourhood(graph, n_hops):
    n, src, dst, targets = graph
    sub = NeighborSampler(src, dst, n).sample(targets, n_hops)
    # the nodes reached hop by hop, by a loop
    reached, frontier = set(targets.tolist()), set(targets.tolist())
    edges = []
    for _ in range(n_hops):
        hop = _in_edges(src, dst, np.array(sorted(frontier), dtype=np.int64))
        edges += hop
        frontier = {s for s, _, _ in hop} - reached
        reached |= frontier
        if not frontier:
            break
    got = sorted(zip(sub.nodes[sub.edge_src].tolist(), sub.nodes[sub.edge_dst].tolist(), sub.edge_id.tolist()))
    assert got == sorted(edges)
    assert set(sub.nodes.tolist()) == reached | {s for s, _, _ in edges}
    assert np.all(np.diff(sub.nodes) > 0), "nodes are sorted and distinct"
    np.testing.assert_array_equal(sub.nodes[sub.locate(targets)], targets)
    first = sorted(zip(sub.nodes[sub.edge_src[:sub.n_target_edges]].tolist(),
                       sub.nodes[sub.edge_dst[:sub.n_target_edges]].tolist()))
    assert first == sorted((s, d) for s, d, _ in _in_edges(src, dst, np.unique(targets)))
    np.testing.assert_array_equal(sub.edge_weight, 1.0)


def test_capped_sampling_by_hand():
    # node 0 has 4 in-edges (from 1..4, weights 1..4), node 5 has one (from 0)
    src, dst = np.array([1, 2, 3, 4, 0]), np.array([0, 0, 0, 0, 5])
    sampler = NeighborSampler(src, dst, 6, edge_weight=np.array([1.0, 2.0, 3.0, 4.0, 5.0]))
    sub = sampler.sample([0, 5], 1, max_neighbors=2, random_state=np.random.default_rng(0))
    into_0 = sub.nodes[sub.edge_dst] == 0
    assert into_0.sum() == 2 and (~into_0).sum() == 1, "the hub keeps 2 draws, the leaf its one edge"
    # a drawn edge weighs its weight times deg / cap = 4 / 2; the leaf's edge is unscaled
    np.testing.assert_allclose(sub.edge_weight[into_0], 2.0 * sub.nodes[sub.edge_src[into_0]])
    np.testing.assert_allclose(sub.edge_weight[~into_0], 5.0)
    np.testing.assert_array_equal(sampler.in_degree([0, 5, 1]), [4, 1, 0])


def test_capped_sums_are_unbiased():
    # weighted message sums of a sampled node average to the whole sum (GraphSAGE's estimator)
    rng = np.random.default_rng(0)
    src, dst = np.arange(1, 41), np.zeros(40, dtype=np.int64)
    value = rng.normal(size=41)
    sampler = NeighborSampler(src, dst, 41)
    sums = []
    for _ in range(3000):
        sub = sampler.sample([0], 1, max_neighbors=5, random_state=rng)
        sums.append(np.sum(sub.edge_weight * value[sub.nodes[sub.edge_src]]))
    whole, spread = value[1:].sum(), np.std(sums) / math.sqrt(len(sums))
    assert abs(np.mean(sums) - whole) < 4 * spread
    assert np.std(sums) > 0.1, "capped nodes really are sampled"


def test_sampler_errors_name_the_problem():
    with pytest.raises(ValueError, match="edge_dst"):
        NeighborSampler([0, 1], [0, 5], 3)
    with pytest.raises(ValueError, match="same length"):
        NeighborSampler([0, 1], [0], 3)
    with pytest.raises(ValueError, match="edge_weight"):
        NeighborSampler([0, 1], [1, 0], 2, edge_weight=[1.0])
    sampler = NeighborSampler([0, 1], [1, 0], 2)
    with pytest.raises(ValueError, match="max_neighbors"):
        sampler.sample([0], 1, max_neighbors=0)
    with pytest.raises(ValueError, match="targets"):
        sampler.sample([2], 1)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 9), min_size=1, max_size=30), st.integers(1, 12))
def test_node_blocks_partition_within_the_budget(degree, budget):
    degree = np.array(degree)
    blocks = node_blocks(degree, budget)
    np.testing.assert_array_equal(np.concatenate(blocks), np.arange(len(degree)))
    for block in blocks:
        assert len(block) == 1 or degree[block].sum() <= budget
    # greedy: the next node would not have fitted
    for block, following in itertools.pairwise(blocks):
        assert degree[block].sum() + degree[following[0]] > budget


@pytest.mark.parametrize("n_layers", [1, 2])
@pytest.mark.parametrize("module", ["disentangled", "lightgcn"])
def test_networks_on_the_exact_subgraph_equal_the_whole_graph(n_layers, module):
    edges, _, _ = make_bipartite(n_users=30, n_items=40, random_state=0)
    g = build_bipartite_graph(edges["user"], edges["item"], 30, 40)
    fields = g.to_torch(weight=g.symmetric_weight() if module == "lightgcn" else None)
    torch.manual_seed(0)
    net = (DisentangledGraphNet(30, 40, embedding_dim=8, n_channels=2, n_layers=n_layers, n_iterations=2)
           if module == "disentangled" else LightGCN(30, 40, embedding_dim=8, n_layers=n_layers))
    whole = net.embed(**fields).detach()
    sampler = NeighborSampler(fields["edge_src"].numpy(), fields["edge_dst"].numpy(), g.n_nodes,
                              fields["edge_weight"].numpy())
    targets = np.array([0, 7, 31, 55, 69])
    sub = sampler.sample(targets, n_layers)
    part = net.embed(torch.from_numpy(sub.edge_src), torch.from_numpy(sub.edge_dst),
                     torch.from_numpy(sub.edge_weight), nodes=torch.from_numpy(sub.nodes)).detach()
    torch.testing.assert_close(part[sub.locate(targets)], whole[targets], rtol=1e-5, atol=1e-6)
    # the training forward reads the batch's nodes through the sub-graph
    users, items = torch.tensor([0, 7]), torch.tensor([1, 39])
    negs = torch.tensor([2, 5])
    batch = np.concatenate([users, items + 30, negs + 30])
    sub = sampler.sample(batch, n_layers)
    got = net(users, items, negs, torch.from_numpy(sub.edge_src), torch.from_numpy(sub.edge_dst),
              torch.from_numpy(sub.edge_weight), nodes=torch.from_numpy(sub.nodes))
    want = net(users, items, negs, **fields)
    for a, b in zip(got[:2], want[:2]):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="every user and item of the batch"):
        empty = torch.zeros(0, dtype=torch.long)
        net(users, items, negs, empty, empty, nodes=torch.from_numpy(sub.nodes[:3]))


def test_sampled_negatives_carry_their_logq_correction():
    g = build_bipartite_graph([0, 0, 1, 2], [0, 1, 1, 2], n_users=3, n_items=10)
    fields = g.to_torch()
    batch, _ = EdgeSource(g.user, g.item, fields, 10, 4, True, 0).batch([0, 1])
    assert batch.fields["neg_items"].shape == (4,)
    # 4 negatives drawn uniformly from 10 items: each stands for 10 / 4 items
    np.testing.assert_allclose(batch.fields["neg_log_weight"].numpy(), np.log(10 / 4), rtol=1e-6)
    # as many negatives as items: the full softmax, uncorrected
    batch, _ = EdgeSource(g.user, g.item, fields, 10, 10, True, 0).batch([0])
    np.testing.assert_array_equal(batch.fields["neg_items"], np.arange(10))
    assert "neg_log_weight" not in batch.fields
    # the network adds the log-weights to the negatives' logits, and the loss then reads
    # log(exp(pos) + sum_m exp(neg_m) / (M q_m)), the importance-sampled full softmax
    # (q = 1 / n_items for uniform draws)
    torch.manual_seed(0)
    net = DisentangledGraphNet(3, 10, embedding_dim=4, n_channels=2, n_layers=1)
    users, items, negs = torch.tensor([0, 1]), torch.tensor([1, 1]), torch.tensor([1, 3, 3, 7])
    weight = torch.tensor([0.5, -1.0, -1.0, 2.0])
    pos, neg, _ = net(users, items, negs, **fields, neg_log_weight=weight)
    _, plain, _ = net(users, items, negs, **fields)
    torch.testing.assert_close(neg, plain + weight)
    assert torch.isinf(neg[:, 0]).all(), "the positive stays out of its own negatives"
    expected = (torch.logsumexp(torch.cat([pos[:, None], neg], 1), 1) - pos).mean()
    torch.testing.assert_close(SampledSoftmaxLoss()((pos, neg, torch.tensor(0.0))), expected)


@settings(max_examples=50, deadline=None)
@given(items=st.lists(st.integers(0, 6), min_size=0, max_size=8),
       negatives=st.lists(st.integers(0, 6), min_size=0, max_size=10))
def test_equal_pairs_are_every_clash_once(items, negatives):
    items, negatives = torch.tensor(items, dtype=torch.long), torch.tensor(negatives, dtype=torch.long)
    rows, columns = _equal_pairs(items, negatives)
    expected = sorted(zip(*torch.nonzero(items.unsqueeze(1) == negatives.unsqueeze(0), as_tuple=True)))
    assert sorted(zip(rows.tolist(), columns.tolist())) == [(int(r), int(c)) for r, c in expected]


@pytest.mark.parametrize("make_net", [
    lambda: DisentangledGraphNet(3, 10, embedding_dim=4, n_channels=2, n_layers=1, item_bias=True),
    lambda: DisentangledGraphNet(3, 10, embedding_dim=4, n_channels=2, n_layers=1, channel_score="routed"),
    lambda: LightGCN(3, 10, embedding_dim=4, n_layers=2, item_bias=True),
], ids=["disentangled", "routed", "lightgcn"])
@pytest.mark.parametrize("log_weight", [None, torch.tensor([0.5, -1.0, -1.0, 2.0, 0.0])])
def test_pair_logits_train_as_forward_does(make_net, log_weight):
    # the training method hands the loss the negatives' factors; loss and every gradient are those of
    # forward's (B, M) logits, clashes (the positive among the negatives, twice for item 3) included
    g = build_bipartite_graph([0, 0, 1, 2], [0, 1, 1, 2], n_users=3, n_items=10)
    fields = g.to_torch()
    torch.manual_seed(0)
    net = make_net()
    if net.item_bias is not None:
        torch.nn.init.normal_(net.item_bias)
    users, items, negs = torch.tensor([0, 1, 2]), torch.tensor([1, 3, 0]), torch.tensor([1, 3, 3, 7, 0])
    args = (users, items, negs, fields["edge_src"], fields["edge_dst"], fields["edge_weight"], None, log_weight)
    losses, grads = [], []
    for method in (net.forward, net.pair_logits):
        loss = SampledSoftmaxLoss()(method(*args))
        losses.append(loss.detach())
        grads.append(torch.autograd.grad(loss, [p for p in net.parameters() if p.requires_grad]))
    torch.testing.assert_close(losses[0], losses[1])
    for ours, reference in zip(grads[1], grads[0]):
        torch.testing.assert_close(ours, reference)
    _, neg, _ = net(*args)
    assert torch.isinf(neg[[0, 1, 1, 2], [0, 1, 2, 4]]).all() and torch.isfinite(neg).sum() == 15 - 4


def test_sampled_softmax_rows_without_negatives_have_zero_gradient():
    pos = torch.tensor([1.0, 0.0], requires_grad=True)
    neg = torch.tensor([[float("-inf"), float("-inf")], [2.0, -1.0]], requires_grad=True)
    loss = SampledSoftmaxLoss()((pos, neg, torch.tensor(0.0)))
    expected = (0.0 + math.log(1 + math.exp(2) + math.exp(-1))) / 2
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    loss.backward()
    assert torch.isfinite(neg.grad).all() and (neg.grad[0] == 0).all() and pos.grad[0] == 0


@pytest.fixture(scope="module")
def planted():
    edges, _, _ = make_bipartite(n_users=300, n_items=120, edges_per_user=20, concentration=0.2, random_state=1)
    return train_test_split_edges(edges, 0.2, random_state=0)


SMALL = {"embedding_dim": 16, "max_epochs": 12, "batch_size": 512, "lr": 2e-2, "random_state": 0}


def test_uncapped_subgraph_training_equals_whole_graph_training(planted):
    train, _ = planted
    whole = DisentangledGraphEmbedder(**{**SMALL, "max_epochs": 3}, max_neighbors=None).fit(train)
    exact = DisentangledGraphEmbedder(**{**SMALL, "max_epochs": 3}, max_neighbors=10**6).fit(train)
    np.testing.assert_allclose(exact.user_embeddings_, whole.user_embeddings_, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(exact.item_embeddings_, whole.item_embeddings_, rtol=1e-4, atol=1e-5)


def test_capped_subgraph_training_learns(planted):
    train, test = planted
    pop = MostPopularRecommender().fit(train).score(test)
    capped = DisentangledGraphEmbedder(**SMALL, max_neighbors=4, n_negatives=30).fit(train)
    assert capped.score(test) > pop + 0.1
    # a user's vector is the same whether it was asked alone or among others (blocks are exact)
    np.testing.assert_array_equal(capped.transform(capped.users_[:3])[1], capped.transform(capped.users_[1:2])[0])
    counts = Counter(np.argmax(capped.channel_affinity(), axis=1).tolist())
    assert len(counts) > 1, "the routing still uses several channels"


def test_item_bias_learns_popularity_the_vectors_cannot():
    # a sparse catalogue (1,500 items, 8 training edges per user, 16 dimensions): the bias learns
    # each item's popularity (correlation 0.95 with its log count) and lifts Recall@20 from 0.024
    # to 0.041 here (seeds 0-3 of data and model: +0.004 to +0.017, never a loss)
    edges, _, _ = make_bipartite(n_users=400, n_items=1500, edges_per_user=10, random_state=0)
    train, test = train_test_split_edges(edges, 0.2, random_state=0)
    with_bias = DisentangledGraphEmbedder(**SMALL).fit(train)
    without = DisentangledGraphEmbedder(**SMALL, item_bias=False).fit(train)
    assert with_bias.score(test) > without.score(test) + 0.01
    assert without.net_.module_.item_bias is None
    bias = with_bias.net_.module_.item_bias.detach().numpy()
    assert np.corrcoef(bias, np.log1p(with_bias.item_counts_))[0, 1] > 0.8
