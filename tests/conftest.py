"""Shared fixtures."""

import pytest


@pytest.fixture(scope="session")
def dask_client():
    """A real two-process Dask cluster on this machine, shared by the Dask tests (the dev
    extra installs Dask, so a missing install fails here rather than skipping)."""
    import distributed

    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
            memory_limit="2GiB",
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client
