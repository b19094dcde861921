"""A sweep (e.g. ablation variants x seeds) as Dask tasks: one training run per task.

``run_sweep(train_variant, {"full-s0": (cfg, path, ...), ...}, workers=4)`` is what a command
such as ``hq-qiskit ablation`` calls to spread its runs over a local cluster or a scheduler.
Each run trains in its own worker process (one thread of Dask's, torch's own threads
``cpu_count // workers``), so seeds and results are those of a sequential run. A run that
raises is not retried by default (it would redo the whole training to hit the same error);
a run whose worker dies is given to another worker once (``client.ALLOWED_FAILURES``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from hq_qiskit.cluster.client import Cluster, open_client
from hq_qiskit.cluster.tasks import Outcome, run_tasks
from hq_qiskit.errors import HQError
from hq_qiskit.training import ablation
from hq_qiskit.training.ablation_plan import Echo, Job, RunTask


def _with_threads(fn: Callable[..., Any], threads: int | None, *args: Any) -> Any:
    """Run ``fn(*args)`` with torch limited to ``threads`` threads (None: as it is)."""
    if threads is not None:
        import torch

        torch.set_num_threads(threads)
    return fn(*args)


def run_sweep(
    fn: Callable[..., Any],
    jobs: Mapping[str, tuple],
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    retries: int = 0,
    echo: Callable[[str], None] = print,
) -> Outcome:
    """Run ``fn(*args)`` for each ``name: args`` of ``jobs`` as one Dask task each, on a
    cluster opened for the purpose (``open_client(workers, scheduler)``).

    ``fn`` and its arguments must pickle (a module-level function; configs, paths). Returns
    the results and failures by name; one line is echoed as each run ends.
    """
    with open_client(workers, scheduler) as cluster:
        return sweep_on(cluster, fn, jobs, retries=retries, echo=echo)


def sweep_on(
    cluster: Cluster,
    fn: Callable[..., Any],
    jobs: Mapping[str, tuple],
    *,
    retries: int = 0,
    echo: Callable[[str], None] = print,
) -> Outcome:
    """``run_sweep`` on an open ``cluster`` (several sweeps can share one cluster)."""
    echo(f"{len(jobs)} runs on a {cluster.where}")
    done = 0

    def report(name: str, result: Any, error: str | None) -> None:
        nonlocal done
        done += 1
        echo(f"[{done}/{len(jobs)}] {name}: {'done' if error is None else 'FAILED: ' + error}")

    items = [(name, (fn, cluster.torch_threads, *args)) for name, args in jobs.items()]
    return run_tasks(cluster.client, _with_threads, items, on_done=report, retries=retries)


def ablation_executor(cluster: Cluster) -> ablation.Executor:
    """The ablation engine's executor on an open ``cluster``: each planned run one Dask task,
    its output in the task's log. A run that fails does not stop the others; when all have
    ended, the failed ones are named with their logs."""

    def execute(tasks: dict[Job, RunTask], echo: Echo) -> dict[Job, ablation.Outcome]:
        names = {f"{b}/{v}/seed{s}": (b, v, s) for b, v, s in tasks}
        args = {key: (tasks[job],) for key, job in names.items()}
        outcome = sweep_on(cluster, ablation.run_one_logged, args, echo=echo)
        if outcome.failures:
            failed = "; ".join(
                f"{k} ({err}, log {tasks[names[k]].log})" for k, err in outcome.failures.items()
            )
            raise HQError(f"{len(outcome.failures)} of {len(tasks)} runs failed: {failed}")
        return {names[key]: result for key, result in outcome.results.items()}

    return execute
