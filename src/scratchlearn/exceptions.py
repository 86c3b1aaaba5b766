"""Warnings and errors specific to scratchlearn.

Bad input otherwise gets Python's and scikit-learn's own exceptions: a ``ValueError`` that
names the parameter or the input, scikit-learn's ``NotFittedError``, its
``ConvergenceWarning`` (:doc:`/bad_input` lists what each case gets).
"""

from __future__ import annotations

__all__ = ["InconsistentVersionWarning"]


class InconsistentVersionWarning(UserWarning):
    """Warning raised when an estimator is unpickled under another scratchlearn version.

    The scratchlearn counterpart of ``sklearn.exceptions.InconsistentVersionWarning``, with
    the same message and attributes (named after scratchlearn). The pickled state is
    loaded as it is; whether it still means the same thing under this version is not
    checked. :func:`scratchlearn.save` and :func:`scratchlearn.load` check every stored
    attribute instead (:doc:`/model_files`).

    Parameters
    ----------
    estimator_name : str
        Name of the estimator's class.
    current_scratchlearn_version : str
        The scratchlearn version that unpickles.
    original_scratchlearn_version : str
        The scratchlearn version that pickled, or ``"unknown"`` for a pickle written before
        scratchlearn recorded its version.

    See Also
    --------
    sklearn.exceptions.InconsistentVersionWarning : The same, for scikit-learn's estimators.

    Examples
    --------
    A pickle records the version that wrote it; turn the warning into an error to refuse
    pickles from other versions:

    >>> import warnings
    >>> from scratchlearn import LeastSquaresClassifier
    >>> from scratchlearn.exceptions import InconsistentVersionWarning
    >>> state = LeastSquaresClassifier().__getstate__()
    >>> state["_scratchlearn_version"] = "0.0.1"  # as a pickle from 0.0.1 holds it
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("error", InconsistentVersionWarning)
    ...     try:
    ...         LeastSquaresClassifier().__setstate__(state)
    ...     except InconsistentVersionWarning as warning:
    ...         print(warning.original_scratchlearn_version)
    0.0.1
    """

    def __init__(
        self,
        *,
        estimator_name: str,
        current_scratchlearn_version: str,
        original_scratchlearn_version: str,
    ):
        self.estimator_name = estimator_name
        self.current_scratchlearn_version = current_scratchlearn_version
        self.original_scratchlearn_version = original_scratchlearn_version

    def __str__(self) -> str:
        return (
            f"Trying to unpickle estimator {self.estimator_name} from scratchlearn version "
            f"{self.original_scratchlearn_version} when using version "
            f"{self.current_scratchlearn_version}. This might lead to breaking code or "
            "invalid results. Use at your own risk. To move a model between versions, save "
            "it with scratchlearn.save and read it with scratchlearn.load, which check every "
            "stored attribute."
        )
