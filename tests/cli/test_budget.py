"""``hq-qiskit budget`` end to end on tiny HQ-UNet runs trained on two built-in tiles."""

from __future__ import annotations

from click.testing import CliRunner

from hq_qiskit.cli.main import cli
from hq_qiskit.training.runner import evaluate_run


def test_budget_of_a_tiny_quantum_run_on_fez(tiny_quantum_run, strict_json):
    run = tiny_quantum_run
    args = ["budget", str(run), "--backend", "ibm_fez", "--factors", "0,1", "--shots", "0",
            "--devices", "fake_nighthawk"]  # fmt: skip
    result = CliRunner().invoke(cli, [*args, "--n-boot", "200", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert (
        "fake twin FakeFez of ibm_fez (offline)" in result.output and "<- device" in result.output
    )
    assert "intervals over fewer than 4 images do not hold their coverage" in result.output
    report = strict_json(run / "budget.json")
    assert (run / "budget.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert report["snapshot"].startswith("fake_fez ") and report["shots"] == 0
    zero, one = report["factors"]
    assert (zero["factor"], one["factor"]) == (0.0, 1.0)
    assert zero["delta"] == 0 and zero["esp"] == 1.0  # no error at all at f = 0
    assert 0 < one["esp"] == report["esp_device"] < 1 and one["esp_idle"] <= one["esp"]
    assert report["admissible_factor"] in (0.0, 1.0)
    assert report["admissible_is_lower_bound"] == (report["admissible_factor"] == 1.0)
    want = report["esp_device"] ** report["admissible_factor"]
    assert abs(report["esp_at_admissible"] - want) < 1e-12
    (other,) = report["devices"]  # FakeNighthawk on FakeFez's curve: f = ln ESP / ln ESP(1)
    assert other["backend"] == "fake_nighthawk" and other["snapshot"].startswith("fake_nighthawk")
    f = other["factor_equivalent"]
    assert abs(report["esp_device"] ** f - other["esp"]) < 1e-9
    assert other["within_budget"] == (True if f <= report["admissible_factor"] else None)
    assert "fake_nighthawk (fake twin FakeNighthawk" in result.output
    (block,) = report["blocks"]
    assert block["block"] and block["count_2q"] > 0
    # factor 0 is the ideal model: evaluate --ideal scores the same tiles alike
    evaluation = evaluate_run(run, noise="ideal", device="cpu", out_name="ideal.json")
    assert abs(zero["miou"] - evaluation["miou"]) < 1e-9
    assert abs(zero["oa"] - evaluation["oa"]) < 1e-9


def test_budget_refuses_a_model_without_quantum_blocks(tiny_classical_run):
    run = tiny_classical_run
    result = CliRunner().invoke(cli, ["budget", str(run), "--backend", "ibm_fez"])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "has no quantum block" in lines[0], result.output
    assert not (run / "budget.json").exists()


def test_budget_refuses_an_ideal_backend_and_bad_factors(tiny_quantum_run):
    run = tiny_quantum_run
    result = CliRunner().invoke(cli, ["budget", str(run), "--backend", "aer"])
    assert result.exit_code == 2 and "--backend aer: an ideal entry" in result.output
    result = CliRunner().invoke(cli, ["budget", str(run), "--backend", "ibm_fez", "--factors", "x"])
    assert result.exit_code == 2 and "--factors 'x'" in result.output
