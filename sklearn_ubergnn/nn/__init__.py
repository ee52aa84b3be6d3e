"""Torch modules of sklearn_ubergnn: pure tensor maths over flat (unpadded) graph batches.

This subpackage imports torch only; it knows nothing of scikit-learn, numpy or raw ids.
"""
from ._deepfm import DeepFM
from ._functional import propagate, segment_mean, segment_softmax, segment_sum
from ._ggnn import GatedGraphNet
from ._losses import SoftmaxBCELoss
from ._readout import SessionReadout
from ._ubergnn import UberGNN

__all__ = [
    "DeepFM",
    "GatedGraphNet",
    "SessionReadout",
    "SoftmaxBCELoss",
    "UberGNN",
    "propagate",
    "segment_mean",
    "segment_softmax",
    "segment_sum",
]
from ._dynamic import DAGLSTMEncoder, RNNSubgraphEncoder, TimeEncoding, TransformerSubgraphEncoder  # noqa: E402
from ._dynamic_heads import DynamicQueryModel  # noqa: E402

__all__ += ["DAGLSTMEncoder", "DynamicQueryModel", "RNNSubgraphEncoder", "TimeEncoding", "TransformerSubgraphEncoder"]
