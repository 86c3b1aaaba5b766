"""The installed scratchlearn version, read once from the package metadata.

Its own module, at the bottom of the layers, so that what records the version (pickles,
model files) need not import the package's root.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("scratchlearn")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0"
