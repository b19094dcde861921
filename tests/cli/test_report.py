"""``hq-qiskit report`` writes Markdown, JSON and PNG for a fake device."""

import json

from click.testing import CliRunner

from hq_qiskit.cli.main import cli


def test_report_one_block_two_levels(tmp_path):
    out = tmp_path / "rep"
    result = CliRunner().invoke(
        cli,
        [
            "report",
            "--backend",
            "ibm_fez",
            "--block",
            "expert_diagonal",
            "--levels",
            "1,3",
            "--seeds",
            "2",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "local testing mode on FakeFez" in result.output or "IBM Quantum" in result.output
    data = json.loads((out / "transpile_report.json").read_text())
    assert {r["optimization_level"] for r in data["rows"]} == {1, 3}
    assert len([r for r in data["rows"] if r["strategy"] == "preset"]) == 4
    verdict = data["noise_aware"][0]
    assert verdict["level"] == 3  # the ibm_fez entry's optimization_level, not max(--levels)
    assert verdict["beats_preset"] in ("yes", "tie")
    assert verdict["esp_noise_aware"] >= verdict["esp_preset_best"] - 1e-12
    assert data["snapshots"]["FakeFez"].startswith("2025-02-26")
    assert 0 < verdict["esp_noise_aware"] <= 1
    assert "| FakeFez | expert_diagonal |" in (out / "transpile_report.md").read_text()
    assert (out / "transpile_report.png").read_bytes()[:4] == b"\x89PNG"


def test_report_rejects_ideal_backend_and_bad_levels(tmp_path):
    result = CliRunner().invoke(cli, ["report", "--backend", "aer", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "ideal simulator" in result.output
    result = CliRunner().invoke(cli, ["report", "--backend", "ibm_fez", "--levels", "5"])
    assert result.exit_code == 2 and "--levels" in result.output
