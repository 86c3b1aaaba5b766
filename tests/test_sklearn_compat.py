"""scikit-learn's own estimator checks: the test of record for API compatibility."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from scratchlearn import KNeighborsClassifier, KNeighborsDensity, NearestNeighbors


@parametrize_with_checks(
    [
        KNeighborsClassifier(),
        KNeighborsClassifier(n_neighbors=3, weights="distance", algorithm="brute"),
        KNeighborsDensity(),
        NearestNeighbors(),
    ]
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
