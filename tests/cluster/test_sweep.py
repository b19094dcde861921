"""run_sweep: named jobs as tasks in worker processes, results and failures by name."""

from __future__ import annotations

from hq_qiskit.cluster.sweep import run_sweep


def test_a_sweep_returns_results_by_name_and_names_the_failed_run():
    lines: list[str] = []
    got = run_sweep(int, {"one": ("1",), "bad": ("x",)}, workers=1, echo=lines.append)
    assert got.results == {"one": 1}
    assert got.failures == {"bad": "ValueError: invalid literal for int() with base 10: 'x'"}
    assert lines[0] == "2 runs on a local cluster, 1 worker process"
    assert {line.split("] ", 1)[1] for line in lines[1:]} == {
        "one: done",
        "bad: FAILED: ValueError: invalid literal for int() with base 10: 'x'",
    }
