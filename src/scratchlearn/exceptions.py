"""Warnings and errors specific to scratchlearn."""

from __future__ import annotations

__all__ = ["InconsistentVersionWarning"]


class InconsistentVersionWarning(UserWarning):
    """Warning raised when an estimator is unpickled under another scratchlearn version.

    The scratchlearn counterpart of ``sklearn.exceptions.InconsistentVersionWarning``, with
    the same message and attributes (named after scratchlearn). The pickled state is
    loaded as it is; whether it still means the same thing under this version is not
    checked. ``scratchlearn.save`` / ``scratchlearn.load`` check every stored attribute
    instead.

    Parameters
    ----------
    estimator_name : str
        Estimator name.
    current_scratchlearn_version : str
        The scratchlearn version that unpickles.
    original_scratchlearn_version : str
        The scratchlearn version that pickled, or ``"unknown"`` for a pickle written before
        scratchlearn recorded its version.
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
