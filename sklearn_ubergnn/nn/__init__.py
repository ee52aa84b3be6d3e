"""Torch modules of sklearn_ubergnn: pure tensor maths over flat (unpadded) graph batches.

This subpackage imports torch only; it knows nothing of scikit-learn, numpy or raw ids.
"""
from ._cosine import cosine_logits
from ._deepfm import DeepFM
from ._disentangled import (
    BehaviorHeads,
    BehaviorMLP,
    BPRLoss,
    DisentangledConv,
    DisentangledGraphNet,
    DistillationLoss,
    HeadwiseDistillationLoss,
    LightGCN,
    SampledSoftmaxLoss,
    channel_distance_correlation,
)
from ._dynamic import DAGLSTMEncoder, RNNSubgraphEncoder, TimeEncoding, TransformerSubgraphEncoder
from ._dynamic_heads import DynamicQueryModel
from ._functional import propagate, segment_mean, segment_softmax, segment_sum
from ._ggnn import GatedGraphNet
from ._global import GlobalItemGraph
from ._gru4rec import GRU4Rec
from ._losses import SoftmaxBCELoss, SoftmaxCrossEntropyLoss
from ._readout import SessionReadout
from ._softmax import ItemLogits, softmax_cross_entropy
from ._star import Highway, StarNode
from ._ubergnn import UberGNN

__all__ = [
    "BPRLoss",
    "BehaviorHeads",
    "BehaviorMLP",
    "DAGLSTMEncoder",
    "DeepFM",
    "DisentangledConv",
    "DisentangledGraphNet",
    "DistillationLoss",
    "DynamicQueryModel",
    "GRU4Rec",
    "GatedGraphNet",
    "GlobalItemGraph",
    "HeadwiseDistillationLoss",
    "Highway",
    "ItemLogits",
    "LightGCN",
    "RNNSubgraphEncoder",
    "SampledSoftmaxLoss",
    "SessionReadout",
    "SoftmaxBCELoss",
    "SoftmaxCrossEntropyLoss",
    "StarNode",
    "TimeEncoding",
    "TransformerSubgraphEncoder",
    "UberGNN",
    "channel_distance_correlation",
    "cosine_logits",
    "propagate",
    "segment_mean",
    "segment_softmax",
    "segment_sum",
    "softmax_cross_entropy",
]
