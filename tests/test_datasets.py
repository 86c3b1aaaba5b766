"""The sheet's data sets, exactly as the sheet makes them."""

import numpy as np
import pytest
from sklearn.datasets import make_moons

from scratchlearn.datasets import load_moons_split


def test_moons_split_is_the_sheets_prefix_split():
    X_train, X_test, y_train, y_test = load_moons_split()
    X, y = make_moons(n_samples=1000, noise=0.2, random_state=0)
    np.testing.assert_array_equal(np.vstack([X_train, X_test]), X)
    np.testing.assert_array_equal(np.concatenate([y_train, y_test]), y)
    assert (len(X_train), len(X_test)) == (900, 100)
    assert np.bincount(y_train).tolist() == [453, 447]
    assert np.bincount(y_test).tolist() == [47, 53]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"train_fraction": 1.0}, "train_fraction"),
        ({"n_samples": 1}, "n_samples"),
        ({"noise": -0.1}, "noise"),
    ],
)
def test_bad_arguments_name_the_parameter(kwargs, match):
    with pytest.raises(ValueError, match=match):
        load_moons_split(**kwargs)
