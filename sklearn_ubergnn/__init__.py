"""sklearn_ubergnn: scikit-learn compatible graph neural network recommenders and embedders.

Public estimators are importable from the package root; datasets, preprocessing, metrics,
graph structures and torch modules live in their subpackages.
"""
__version__ = "0.1.0.dev0"

from .disentangled import (
    BPRMatrixFactorization,
    DisentangledGraphEmbedder,
    DistilledBehaviorClassifier,
    GFCFRecommender,
    LightGCNRecommender,
    MostPopularRecommender,
)
from .dynamic import (
    DynamicGraphEmbedder,
    DynamicInteractionClassifier,
    EdgeBankBaseline,
    RecencyHeuristicBaseline,
)
from .graphs import SessionGraphBatch
from .pipeline import RecommenderPipeline, make_pipeline
from .session import (
    GRU4RecRecommender,
    PopularityRecommender,
    SequentialRulesRecommender,
    SessionGraphTransformer,
    SessionKNNRecommender,
    UberGNNRecommender,
    VSTANRecommender,
)

__all__ = [
    "BPRMatrixFactorization",
    "DisentangledGraphEmbedder",
    "DistilledBehaviorClassifier",
    "DynamicGraphEmbedder",
    "DynamicInteractionClassifier",
    "EdgeBankBaseline",
    "GFCFRecommender",
    "GRU4RecRecommender",
    "LightGCNRecommender",
    "MostPopularRecommender",
    "PopularityRecommender",
    "RecencyHeuristicBaseline",
    "RecommenderPipeline",
    "SequentialRulesRecommender",
    "SessionGraphBatch",
    "SessionGraphTransformer",
    "SessionKNNRecommender",
    "UberGNNRecommender",
    "VSTANRecommender",
    "__version__",
    "make_pipeline",
]
