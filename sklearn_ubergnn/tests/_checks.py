"""Test helpers shared by the estimator test modules."""
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
