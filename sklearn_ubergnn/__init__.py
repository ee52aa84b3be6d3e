"""sklearn_ubergnn: scikit-learn compatible graph neural network recommenders and embedders.

Public estimators are importable from the package root; datasets, preprocessing, metrics,
graph structures and torch modules live in their subpackages.
"""
__version__ = "0.1.0.dev0"

__all__ = ["__version__"]
