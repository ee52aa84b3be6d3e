"""Discovery of the package's public estimators, as :func:`sklearn.utils.discovery.all_estimators`."""
import inspect
import pkgutil
from importlib import import_module
from operator import itemgetter

from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin

__all__ = ["all_estimators"]

_PACKAGE = "sklearn_ubergnn"
_TYPE_FILTERS = {
    "classifier": lambda cls: issubclass(cls, ClassifierMixin),
    "recommender": lambda cls: callable(getattr(cls, "recommend", None)),
    "transformer": lambda cls: issubclass(cls, TransformerMixin),
}


def all_estimators(type_filter=None):
    """Every public estimator of ``sklearn_ubergnn``, found by walking the package.

    An estimator is public when it derives from :class:`~sklearn.base.BaseEstimator`, is defined in
    this package and is listed in the ``__all__`` of a public module (one without a leading
    underscore in its dotted name; tests are skipped). A new estimator exported anywhere in the
    package is therefore listed without editing this function, and the common tests run on it.

    Parameters
    ----------
    type_filter : {"classifier", "recommender", "transformer"}, list of those or None, default=None
        Keep the estimators of these kinds only (any of them when several): ``"classifier"``
        derives from :class:`~sklearn.base.ClassifierMixin` (the session recommenders do),
        ``"recommender"`` has a ``recommend`` method, ``"transformer"`` derives from
        :class:`~sklearn.base.TransformerMixin`. None keeps every estimator.

    Returns
    -------
    estimators : list of (str, type)
        ``(name, class)`` pairs sorted by name, each class once.

    Examples
    --------
    >>> from sklearn_ubergnn.utils import all_estimators
    >>> [name for name, _ in all_estimators(type_filter="recommender")][:2]
    ['BPRMatrixFactorization', 'DisentangledGraphEmbedder']
    """
    filters = _check_type_filter(type_filter)
    root = import_module(_PACKAGE)
    found = {}
    modules = [root, *(import_module(info.name) for info in pkgutil.walk_packages(root.__path__, f"{_PACKAGE}.")
                       if not _is_private_or_test(info.name))]
    for module in modules:
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name, None)
            if (inspect.isclass(obj) and issubclass(obj, BaseEstimator) and not inspect.isabstract(obj)
                    and obj.__module__.startswith(f"{_PACKAGE}.") and not obj.__name__.startswith("_")):
                found[obj.__name__] = obj
    estimators = sorted(found.items(), key=itemgetter(0))
    if filters:
        estimators = [(name, cls) for name, cls in estimators if any(_TYPE_FILTERS[f](cls) for f in filters)]
    return estimators


def _is_private_or_test(module_name):
    parts = module_name.split(".")
    return any(part.startswith("_") or part in ("tests", "conftest") for part in parts[1:])


def _check_type_filter(type_filter):
    if type_filter is None:
        return []
    filters = [type_filter] if isinstance(type_filter, str) else list(type_filter)
    unknown = [f for f in filters if f not in _TYPE_FILTERS]
    if unknown:
        raise ValueError(f"type_filter must be None or among {sorted(_TYPE_FILTERS)}; got {unknown[0]!r}.")
    return filters
