"""Transpile report details: durations with readout, ties said as ties, the entry's settings."""

from __future__ import annotations

import dataclasses

from qiskit_ibm_runtime.fake_provider import FakeFez

from hq_qiskit.circuits import build_block
from hq_qiskit.hardware.layout import transpile_block, with_readout
from hq_qiskit.hardware.transpile_report import measure, noise_aware_verdicts, to_markdown


def test_durations_include_readout_and_ties_are_ties():
    target = FakeFez().target
    block = build_block("expert_diagonal")
    mapped = transpile_block(block.circuit, block.observables, target, optimization_level=1)
    row = measure(mapped, target, block.name, "FakeFez")
    gates_only = mapped.circuit.estimate_duration(target, unit="s")
    readout = target["measure"][(mapped.active_qubits[0],)].duration
    assert row.duration_s >= gates_only + readout * 0.99  # readout comes after the last gate
    assert with_readout(mapped.circuit).count_ops()["measure"] == len(mapped.active_qubits)

    same = dataclasses.replace(row, strategy="noise_aware", seed=7)
    (verdict,) = noise_aware_verdicts([row, same])
    assert verdict["beats_preset"] == "tie" and verdict["seed_noise_aware"] == 7
    assert "| tie |" in to_markdown([row, same], {"FakeFez": "2025-02-26"})
    assert to_markdown([row], {"FakeFez": "2025-02-26"}).startswith(
        "- FakeFez: calibration snapshot 2025-02-26"
    )
    better = dataclasses.replace(same, esp=row.esp + 0.01)
    assert noise_aware_verdicts([row, better])[0]["beats_preset"] == "yes"
