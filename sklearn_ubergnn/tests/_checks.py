"""Test helpers shared by the test modules (fixtures are in ``conftest.py``)."""
import re
from pathlib import Path

import pytest
from sklearn.utils import estimator_checks as ec

# scikit-learn's checks that need no data: they apply to every estimator, whatever its input type
# (session and interaction-stream estimators take no 2-D arrays, so the data-dependent ones do not apply).
DATA_FREE_CHECKS = [
    ec.check_estimator_cloneable,
    ec.check_no_attributes_set_in_init,
    ec.check_parameters_default_constructible,
    ec.check_get_params_invariance,
    ec.check_set_params,
    ec.check_estimator_repr,
    ec.check_mixin_order,
    ec.check_valid_tag_types,
    ec.check_do_not_raise_errors_in_init_or_set_params,
]

# A few lines of DIGINETICA's train-item-views.csv (session 1 has a user, 2 and 3 none).
DIGINETICA = """sessionId;userId;itemId;timeframe;eventdate
3;NA;30;500;2016-05-02
3;NA;31;100;2016-05-02
1;7;10;900;2016-05-01
1;7;11;200;2016-05-01
2;NA;20;50;2016-05-01
1;7;12;300;2016-05-03
"""


def write(path, text):
    """Write ``text`` to ``path``; return the path."""
    Path(path).write_text(text)
    return path


def raises(exc, path, message):
    """pytest.raises matching ``"<path><message>"`` literally."""
    return pytest.raises(exc, match="^" + re.escape(f"{path}{message}") + "$")
