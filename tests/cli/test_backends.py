"""``hq-qiskit backends`` lists backends.toml and reports a bad file in one line."""

from click.testing import CliRunner

from hq_qiskit.cli.main import cli


def test_backends_lists_every_entry():
    result = CliRunner().invoke(cli, ["backends"])
    assert result.exit_code == 0, result.output
    for name in ("aer-noisy-brisbane", "ibm_brisbane", "ibm_torino", "ibm_fez"):
        assert name in result.output
    assert "local mode" in result.output  # fake_brisbane says it never reaches IBM


def test_backends_bad_file_exits_2(tmp_path):
    path = tmp_path / "b.toml"
    path.write_text('[x]\nkind = "aer"\nshotz = 4\n')
    result = CliRunner().invoke(cli, ["backends", "--backends-file", str(path)])
    assert result.exit_code == 2
    assert "unknown key 'shotz'" in result.output
