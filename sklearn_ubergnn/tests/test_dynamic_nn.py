"""Tests of the sub-graph encoders (nn/_dynamic.py)."""
import numpy as np
import pytest
import torch

from sklearn_ubergnn.datasets import make_interactions
from sklearn_ubergnn.graphs import DynamicInteractionGraph
from sklearn_ubergnn.nn import DAGLSTMEncoder, RNNSubgraphEncoder, TimeEncoding, TransformerSubgraphEncoder

F, D = 5, 8
ENCODERS = {
    "dag": lambda: DAGLSTMEncoder(F, D, time_dim=4),
    "rnn": lambda: RNNSubgraphEncoder(F, D, time_dim=4),
    "transformer": lambda: TransformerSubgraphEncoder(F, D, time_dim=4, n_heads=2, n_layers=1, dropout=0.0),
}


def _features(graph, batch):
    """Node features as an estimator would build them: event features + role (scaled dt inside)."""
    x = np.concatenate([graph.interaction_features[batch.interaction], batch.role[:, None],
                        (batch.object % 3)[:, None]], axis=1)
    return torch.as_tensor(x, dtype=torch.float32)


@pytest.fixture(scope="module")
def graph():
    df = make_interactions(n_objects=30, n_interactions=300, random_state=0)
    return DynamicInteractionGraph.from_interactions(df.source, df.target, df.time, df[["f0", "f1", "f2"]])


@pytest.fixture(scope="module")
def batch(graph):
    targets = np.concatenate([graph.target_node(np.arange(30)), [-1], np.arange(0, graph.n_nodes, 37)])
    return graph.subgraphs(targets, n_hops=3, max_nodes=16)


def _run(encoder, x, batch):
    inputs = batch.to_torch()
    inputs["delta_t"] = inputs["delta_t"] / 10.0
    return encoder(x, **inputs)


def _single(batch, b):
    """The tensors of sub-graph b alone (positions re-based)."""
    lo, hi = int(batch.offsets[b]), int(batch.offsets[b + 1])
    inputs = {k: v for k, v in batch.to_torch().items()}
    par = inputs["parents"][lo:hi]
    return lo, hi, {
        "offsets": torch.tensor([0, hi - lo]),
        "delta_t": inputs["delta_t"][lo:hi] / 10.0,
        "depth": inputs["depth"][lo:hi],
        "parents": torch.where(par >= 0, par - lo, par),
        "level": inputs["level"][lo:hi],
    }


@pytest.mark.parametrize("name", ENCODERS)
def test_shapes_and_empty_subgraph(name, graph, batch):
    torch.manual_seed(0)
    enc = ENCODERS[name]().eval()
    out = _run(enc, _features(graph, batch), batch)
    assert out.shape == (len(batch), D) and out.dtype == torch.float32
    assert torch.isfinite(out).all()
    empty = np.flatnonzero(batch.lengths == 0)
    assert len(empty) == 1 and torch.equal(out[empty], torch.zeros(1, D))
    assert not torch.equal(out[0], torch.zeros(D))
    assert enc.extra_repr().startswith(f"input_size={F}, hidden_size={D}")


@pytest.mark.parametrize("name", ENCODERS)
def test_batch_equals_singles(name, graph, batch):
    torch.manual_seed(0)
    enc = ENCODERS[name]().eval()
    x = _features(graph, batch)
    with torch.no_grad():
        out = _run(enc, x, batch)
        for b in range(0, len(batch), 3):
            lo, hi, inputs = _single(batch, b)
            single = enc(x[lo:hi], **inputs)
            torch.testing.assert_close(out[b:b + 1], single, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", ENCODERS)
def test_gradients_reach_every_parameter(name, graph, batch):
    torch.manual_seed(0)
    enc = ENCODERS[name]().train()
    x = _features(graph, batch).requires_grad_(True)
    _run(enc, x, batch).pow(2).sum().backward()
    for pname, p in enc.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), pname
        assert p.grad.abs().sum() > 0, pname
    assert x.grad.abs().sum() > 0


@pytest.mark.parametrize("name", ENCODERS)
def test_deterministic_with_a_seed(name, graph, batch):
    outs = []
    for _ in range(2):
        torch.manual_seed(3)
        enc = ENCODERS[name]().eval()
        outs.append(_run(enc, _features(graph, batch), batch))
    assert torch.equal(outs[0], outs[1])
    assert torch.equal(outs[0], _run(enc, _features(graph, batch), batch))


def test_target_alone():
    """A sub-graph of just its target: the DAG cell with zero parent states, one GRU step."""
    g = DynamicInteractionGraph().append([1, 2], [2, 3], [0.0, 1.0])
    batch = g.subgraphs([0, 2, 3], n_hops=0)
    np.testing.assert_array_equal(batch.lengths, [1, 1, 1])
    x = torch.randn(3, F)
    torch.manual_seed(0)
    dag = DAGLSTMEncoder(F, D, time_dim=0)
    gates = dag.input_map(x)
    i, o, u, _, _ = gates.chunk(5, dim=1)
    expected = torch.sigmoid(o) * torch.tanh(torch.sigmoid(i) * torch.tanh(u))
    torch.testing.assert_close(dag(x, **batch.to_torch()), expected)
    rnn = RNNSubgraphEncoder(F, D, time_dim=0)
    torch.testing.assert_close(rnn(x, **batch.to_torch()), rnn.gru(x.unsqueeze(1))[1][0])


def _reference_dag(enc, x, parents, dt, target):
    """Per-node recursion with memoisation (a Python loop: for testing only)."""
    memo = {}
    gates_x = enc.input_map(enc._inputs(x, dt))
    d = enc.hidden_size

    def state(v):
        if v < 0:
            return x.new_zeros(d), x.new_zeros(d)
        if v not in memo:
            (h1, c1), (h2, c2) = state(int(parents[v, 0])), state(int(parents[v, 1]))
            i, o, u, f1, f2 = (gates_x[v] + enc.parent_map(torch.cat([h1, h2]))).chunk(5)
            c = torch.sigmoid(i) * torch.tanh(u) + torch.sigmoid(f1) * c1 + torch.sigmoid(f2) * c2
            memo[v] = (torch.sigmoid(o) * torch.tanh(c), c)
        return memo[v]

    return state(target)[0]


def test_dag_lstm_matches_recursive_reference_values_and_gradients(graph):
    batch = graph.subgraphs(graph.target_node(np.arange(12)), time_window=20.0, max_nodes=24)
    assert batch.level.max() >= 3
    torch.manual_seed(1)
    enc = DAGLSTMEncoder(F, D, time_dim=4)
    x = _features(graph, batch)
    inputs = batch.to_torch()
    x1 = x.clone().requires_grad_(True)
    out = enc(x1, **inputs)
    out.sum().backward()
    grad_fast = x1.grad.clone()
    enc.zero_grad()
    x2 = x.clone().requires_grad_(True)
    ref = torch.stack([
        _reference_dag(enc, x2, inputs["parents"], inputs["delta_t"], int(t)) for t in batch.target_index
    ])
    ref.sum().backward()
    torch.testing.assert_close(out, ref, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(grad_fast, x2.grad, atol=1e-6, rtol=1e-5)


def test_time_encoding_and_transformer_mean_readout(graph, batch):
    te = TimeEncoding(6)
    out = te(torch.tensor([0.0, 1.0, 100.0]))
    assert out.shape == (3, 6)
    torch.testing.assert_close(out[0], torch.ones(6))
    enc = TransformerSubgraphEncoder(F, D, readout="mean", n_heads=2, n_layers=1).eval()
    res = _run(enc, _features(graph, batch), batch)
    assert res.shape == (len(batch), D)


@pytest.mark.parametrize("readout", ["target", "mean"])
def test_transformer_packed_forward_equals_the_stock_encoder(readout):
    """The packed-token forward equals torch's nn.TransformerEncoder run on the padded batch
    (evaluation mode), values and gradients, with an empty sub-graph in the batch."""
    torch.manual_seed(0)
    enc = TransformerSubgraphEncoder(F, D, time_dim=4, n_heads=2, n_layers=2, readout=readout).eval()
    lengths = torch.tensor([3, 0, 1, 5, 2])
    offsets = torch.cat([torch.zeros(1, dtype=torch.long), lengths.cumsum(0)])
    m = int(lengths.sum())
    x = torch.randn(m, F, requires_grad=True)
    delta_t = torch.rand(m) * 10
    depth = torch.randint(0, 3, (m,))
    out = enc(x, offsets, delta_t, depth=depth)
    (grad_packed,) = torch.autograd.grad(out.square().sum(), x)

    # reference: the stock module on the zero-padded (B, L, d) tokens with a key padding mask
    segment = torch.repeat_interleave(torch.arange(len(lengths)), lengths)
    position = torch.arange(m) - offsets[:-1][segment]
    rank = lengths[segment] - 1 - position
    tokens = enc.input_map(enc._inputs(x, delta_t)) + enc.depth_embedding(depth) + enc.order_embedding(rank)
    seq = torch.zeros(len(lengths), int(lengths.max()), D).index_put((segment, position), tokens)
    padding = torch.arange(seq.shape[1]).unsqueeze(0) >= lengths.clamp(min=1).unsqueeze(1)
    full = enc.encoder(seq, src_key_padding_mask=padding)
    if readout == "target":
        ref = full[torch.arange(len(lengths)), (lengths - 1).clamp(min=0)]
    else:
        ref = (full * (~padding).unsqueeze(2)).sum(1) / lengths.clamp(min=1).unsqueeze(1)
    ref = torch.where((lengths > 0).unsqueeze(1), ref, torch.zeros_like(ref))
    (grad_ref,) = torch.autograd.grad(ref.square().sum(), x)
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(grad_packed, grad_ref, atol=1e-5, rtol=1e-4)
    assert out[1].abs().sum() == 0  # the empty sub-graph


def test_transformer_dropout_trains_and_stays_finite():
    torch.manual_seed(0)
    enc = TransformerSubgraphEncoder(F, D, n_heads=2, n_layers=2, dropout=0.5).train()
    offsets = torch.tensor([0, 2, 2, 6])
    x, delta_t, depth = torch.randn(6, F), torch.rand(6), torch.zeros(6, dtype=torch.long)
    out1, out2 = enc(x, offsets, delta_t, depth=depth), enc(x, offsets, delta_t, depth=depth)
    assert torch.isfinite(out1).all() and not torch.equal(out1, out2)  # dropout is active
    enc.eval()
    torch.testing.assert_close(enc(x, offsets, delta_t, depth=depth), enc(x, offsets, delta_t, depth=depth))
    assert out1[1].abs().sum() == 0


def test_input_errors_name_the_tensor(batch):
    enc = RNNSubgraphEncoder(F, D)
    inputs = batch.to_torch()
    with pytest.raises(ValueError, match=r"x must have size 5 in dimension 1 \(input_size\)"):
        enc(torch.zeros(batch.n_nodes, F + 1), **inputs)
    with pytest.raises(ValueError, match="delta_t must have size"):
        enc(torch.zeros(batch.n_nodes, F), inputs["offsets"], inputs["delta_t"][:-1])
    with pytest.raises(ValueError, match="offsets must be non-decreasing"):
        enc(torch.zeros(batch.n_nodes, F), inputs["offsets"] + 1, inputs["delta_t"])
    with pytest.raises(ValueError, match="needs parents"):
        DAGLSTMEncoder(F, D)(torch.zeros(batch.n_nodes, F), inputs["offsets"], inputs["delta_t"])
    with pytest.raises(ValueError, match="parents must lie in"):
        far = {**inputs, "parents": inputs["parents"] + 10**6}
        DAGLSTMEncoder(F, D)(torch.zeros(batch.n_nodes, F), **far)
    with pytest.raises(ValueError, match="divisible"):
        TransformerSubgraphEncoder(F, 7, n_heads=2)
