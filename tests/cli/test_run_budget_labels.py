"""The budget of a device run bounds what the runtime will run: a ZNE run whose upper estimate
exceeds ``--max-qpu-seconds`` is refused before any job record exists (the runtime's own local
service stands in for IBM's cloud); offline, the full-size device run is priced beside the
rehearsal and flags that do nothing there say so. Labels come from the job: ``--seed 0``
reruns are bit-identical and recorded, and a folder of one device is not resumed as another."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from qiskit_ibm_runtime.fake_provider.local_service import QiskitRuntimeLocalService

from hq_qiskit.cli.main import cli
from hq_qiskit.errors import ConfigError, HQError
from hq_qiskit.hardware.backends import Backend
from hq_qiskit.hardware.runtime import resolve
from hq_qiskit.inference import run_inference
from hq_qiskit.inference.options import RunOptions

pytest.importorskip("hq_qiskit.quantum.fast.engine")


@pytest.fixture(autouse=True)
def no_account(monkeypatch, tmp_path):
    monkeypatch.delenv("QISKIT_IBM_TOKEN", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


@pytest.fixture(scope="module")
def trained(tiny_one_epoch_run) -> Path:
    """A run folder of one tiny quantum HQ-UNet trained for one epoch on two built-in tiles."""
    return tiny_one_epoch_run


def device(mitigation: tuple[str, ...]):
    """FakeBrisbane served as a device by the runtime's local service (not local mode)."""
    entry = Backend(name="brisbane", kind="runtime", device="fake_brisbane",
                    noise="FakeBrisbane", shots=64, mitigation=mitigation)  # fmt: skip
    return entry, resolve(entry, service=QiskitRuntimeLocalService())


def lower_bound_of(lines: list[str]) -> float:
    """The "all" row's "QPU s (lower bound)" of a printed cost plan, seconds."""
    header = next(s for s in lines if "QPU s (lower bound)" in s).split("|")
    total = next(s for s in lines if s.startswith("| all |")).split("|")
    return float(total[[c.strip() for c in header].index("QPU s (lower bound)")])


def test_a_zne_run_over_its_upper_estimate_is_refused_before_any_job(trained, tmp_path):
    opts = RunOptions(1024, 0.0, patches=1)
    plain, target = device(())
    lines: list[str] = []
    with pytest.raises(HQError, match="not confirmed"):
        run_inference(trained, plain, target, tmp_path / "a", opts, echo=lines.append,
                      confirm=lambda q: False)  # fmt: skip
    # a budget just above the unmitigated lower bound; ZNE runs every circuit at noise
    # factors 1, 3, 5 (2 circuits x 1024 shots x 3 at >= 350 us each: over 4 s more)
    budget_s = lower_bound_of(lines) + 0.1
    zne, target = device(("zne",))
    out = tmp_path / "b"
    budget = RunOptions(1024, 0.0, patches=1, max_qpu_seconds=budget_s, yes=True,
                        result_timeout_s=5)  # fmt: skip
    with pytest.raises(ConfigError) as err:
        run_inference(trained, zne, target, out, budget, echo=lambda s: None)
    line = str(err.value)
    assert "upper estimate" in line and "exceeds --max-qpu-seconds" in line
    assert f"--max-qpu-seconds {budget_s:g}" in line and "mitigation zne" in line
    assert "\n" not in line and not (out / "jobs").exists()


def test_offline_the_full_size_run_is_priced_and_idle_flags_say_so(trained, tmp_path):
    result = CliRunner().invoke(cli, [
        "run", str(trained), "--backend", "ibm_brisbane", "--ideal-simulator", "--patches", "1",
        "--shots", "64", "--max-qpu-seconds", "1", "--mitigation", "trex,zne",
        "--out", str(tmp_path / "o"),
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    out = result.output
    assert "--max-qpu-seconds 1: not applied, local testing mode spends no QPU time" in out
    assert "--mitigation trex,zne: not applied, local testing mode applies no mitigation" in out
    line = next(s for s in out.splitlines() if s.startswith("full-size run on the device"))
    assert "ibm_brisbane (256 patches of 1 tile(s), 4096 shots (the entry's)" in line
    assert "mitigation trex, zne" in line and "prices this local rehearsal" in line
    upper = float(re.search(r"(\d+) QPU s upper estimate", line).group(1))
    # 256 samples x 2 measurement groups x 4096 shots x 3 noise factors at >= 350 us each
    assert upper >= 350e-6 * 256 * 2 * 4096 * 3


def test_seed_zero_reruns_are_bit_identical_and_recorded(trained, tmp_path):
    def run(out: str, *extra: str):
        return CliRunner().invoke(cli, [
            "run", str(trained), "--backend", "ibm_brisbane", "--ideal-simulator", "--patches",
            "1", "--shots", "64", "--out", str(tmp_path / out), *extra,
        ])  # fmt: skip

    for out in ("a", "b"):
        result = run(out, "--seed", "0")
        assert result.exit_code == 0, result.output
    evs = []
    for o in "ab":
        with np.load(tmp_path / o / "jobs" / "00-enrichment_qcnn.npz") as f:
            evs.append(f["evs"])
    assert np.array_equal(evs[0], evs[1])
    r = json.loads((tmp_path / "a" / "run.json").read_text())
    assert r["seed"] == 0 and r["blocks"][0]["seed"] == 0
    assert r["blocks"][0]["mitigation_applied"] == []
    # the Brisbane folder resumed as Fez: refused, not relabelled with Fez's layout
    result = CliRunner().invoke(cli, [
        "run", str(trained), "--backend", "ibm_fez", "--ideal-simulator", "--patches", "1",
        "--shots", "64", "--out", str(tmp_path / "a"), "--resume",
    ])  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "--resume found a job made under other settings" in result.output
    assert (
        "FakeBrisbane's target) (recorded) vs none (ideal simulator with FakeFez's" in result.output
    )
    assert "final_layout [" in result.output and "circuit_sha256 " in result.output
