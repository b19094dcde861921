"""``hq-qiskit export-circuits`` is reproducible: two exports write the same bytes, so a rerun
in the checkout leaves the tracked files under circuits/ as they are."""

from __future__ import annotations

from click.testing import CliRunner

from hq_qiskit.cli.main import cli


def test_two_exports_write_identical_bytes(tmp_path):
    """Before, the .qpy files differed on every run: QPY stores each parameter's UUID, and a
    new ParameterVector draws a random one."""
    first, second = tmp_path / "a", tmp_path / "b"
    for out in (first, second):
        result = CliRunner().invoke(cli, ["export-circuits", "--out", str(out)])
        assert result.exit_code == 0, result.output
    names = sorted(p.name for p in first.iterdir())
    assert names == sorted(p.name for p in second.iterdir())
    assert {n.rsplit(".", 1)[1] for n in names} == {"qasm", "qpy", "txt", "png"}
    differ = [n for n in names if (first / n).read_bytes() != (second / n).read_bytes()]
    assert differ == []
