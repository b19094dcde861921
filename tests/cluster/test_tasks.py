"""run_tasks on a local cluster of worker processes: a worker that dies mid-task is replaced
and the task rerun once; a task that kills its worker twice is reported by name."""

from __future__ import annotations


def test_a_killed_worker_is_replaced_and_its_task_rerun_once(tmp_path):
    from hq_qiskit.cluster.client import open_client
    from hq_qiskit.cluster.tasks import run_tasks

    def dies(name: str, marks: str, times: int) -> str:  # local: Dask ships it by value
        import os
        from pathlib import Path

        tries = Path(marks) / name
        n = len(tries.read_text()) if tries.exists() else 0
        tries.write_text("x" * (n + 1))
        if n < times:
            os._exit(1)  # the worker process dies mid-task
        return name

    with open_client(workers=1) as cluster:
        once = [("once", ("once", str(tmp_path), 1))]
        got = run_tasks(cluster.client, dies, once)
        assert got.results == {"once": "once"}  # rerun on the restarted worker
        always = [("always", ("always", str(tmp_path), 9))]
        got = run_tasks(cluster.client, dies, always)
    assert list(got.failures) == ["always"] and "KilledWorker" in got.failures["always"]
    assert (tmp_path / "always").read_text() == "xx"  # two tries, then reported


def test_local_workers_keep_glibcs_own_malloc_thresholds():
    """distributed's default MALLOC_TRIM_THRESHOLD_ made every training step mmap and unmap its
    tensors (2-2.5x the wall time); local workers must start without it."""
    from hq_qiskit.cluster.client import open_client

    def environ(name: str) -> str | None:
        import os

        return os.environ.get(name)

    with open_client(workers=1) as cluster:
        got = cluster.client.submit(environ, "MALLOC_TRIM_THRESHOLD_").result()
        threads = cluster.client.submit(environ, "OMP_NUM_THREADS").result()
    assert got is None
    assert threads == "1"  # the rest of distributed's pre-spawn settings still apply


def test_a_local_cluster_leaves_port_8787_to_others():
    """With the dashboard off, distributed's scheduler still served HTTP on 8787; a second
    cluster on the machine then warned "Port 8787 is already in use"."""
    import socket
    import warnings

    from hq_qiskit.cluster.client import open_client

    with socket.socket() as taken:
        try:
            taken.bind(("127.0.0.1", 8787))
            taken.listen()
        except OSError:
            pass  # another process holds it: just as good
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with open_client(workers=1) as cluster:
                assert cluster.client.submit(sum, [1, 2]).result() == 3
    assert not [w for w in caught if "already in use" in str(w.message)]
