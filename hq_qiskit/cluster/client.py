"""A Dask client: a LocalCluster of worker processes, or an existing scheduler.

Each local worker is one process with one thread, so it runs one task (one sheet) at a time
and its memory is what that task needs; torch inside it gets ``threads_per_worker`` threads.
A worker that dies is restarted by its nanny and its task is given to another worker; a task
that kills ``ALLOWED_FAILURES + 1`` workers fails with ``KilledWorker`` (set on the local
scheduler; an existing scheduler keeps its own ``distributed.scheduler.allowed-failures``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from hq_qiskit.errors import ConfigError

CONNECT_TIMEOUT_S = 5  # waiting for --scheduler to answer
ALLOWED_FAILURES = 1  # worker deaths a task may cause before it fails: one retry


def check_workers(workers: int | None) -> None:
    """Refuse a worker count below 1."""
    if workers is not None and workers < 1:
        raise ConfigError(f"--workers {workers}: give at least 1 worker process")


@dataclass(frozen=True)
class Cluster:
    """An open client and what it runs on.

    Attributes:
        client: the ``distributed.Client``.
        where: one line: "local cluster, 2 worker processes" or "scheduler tcp://...".
        torch_threads: threads torch may use in each task (None: leave torch's default).
    """

    client: Any
    where: str
    torch_threads: int | None


@contextmanager
def open_client(
    workers: int | None = None,
    scheduler: str | None = None,
    *,
    timeout_s: float = CONNECT_TIMEOUT_S,
) -> Iterator[Cluster]:
    """A client on ``scheduler`` if given, else on a LocalCluster of ``workers`` processes
    (default: one per CPU core); closed (and the local cluster shut down) on exit.

    Raises:
        ConfigError: ``workers`` below 1, both given, or no scheduler answering within
            ``timeout_s`` seconds.
    """
    check_workers(workers)
    if workers is not None and scheduler is not None:
        raise ConfigError(
            "--workers and --scheduler: give one; an existing scheduler has its own workers"
        )
    import dask
    from distributed import Client, LocalCluster

    # distributed sets its loggers to INFO when imported; its news is ours to tell
    if logging.getLogger().level > logging.DEBUG:
        logging.getLogger("distributed").setLevel(logging.WARNING)

    if scheduler is not None:
        try:
            client = Client(scheduler, timeout=f"{timeout_s}s")
        except (OSError, TimeoutError, ValueError) as err:
            raise ConfigError(
                f"--scheduler {scheduler}: no Dask scheduler answered within {timeout_s:g} s "
                f"({type(err).__name__}); start one (dask scheduler) and its workers, or drop "
                "--scheduler to use a local cluster of --workers processes"
            ) from None
        try:
            yield Cluster(client, f"scheduler {scheduler}", None)
        finally:
            client.close()
        return
    n = workers or os.cpu_count() or 1
    local_config = {
        "distributed.scheduler.allowed-failures": ALLOWED_FAILURES,
        # non-daemonic workers may start processes of their own (a training run's DataLoader
        # workers); kept for the cluster's life, so a restarted worker is started the same way
        "distributed.worker.daemon": False,
        # distributed starts workers with MALLOC_TRIM_THRESHOLD_=65536; glibc then stops
        # raising its mmap threshold, so every large tensor is mmap'ed and unmapped again:
        # a width-16 HQ-UNet epoch took 2-2.5x the wall time (sys 13.7 s vs 2.5 s over two
        # short epochs, docs/benchmarks.md). None leaves the variable unset in the workers.
        "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
    }
    with dask.config.set(local_config):
        cluster = LocalCluster(
            n_workers=n,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            # with the dashboard off the scheduler still serves /health on 8787, so a second
            # cluster on the machine (two ablations, or tests beside one) warned "Port 8787 is
            # already in use"; any free port on localhost instead
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
            silence_logs=logging.CRITICAL,  # failed tasks are reported by name instead
        )
        client = Client(cluster)
        try:
            threads = max(1, (os.cpu_count() or 1) // n)
            yield Cluster(client, f"local cluster, {n} worker process{'es' * (n > 1)}", threads)
        finally:
            client.close()
            cluster.close()
