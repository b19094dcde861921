"""The backend-kind table: every kind the backends file accepts has a row, and the commands ask
the table (training refuses runtime entries, reports need a device or noise model)."""

from __future__ import annotations

import pytest

from hq_qiskit.errors import ConfigError
from hq_qiskit.hardware import backends
from hq_qiskit.hardware.kinds import KINDS, kind_of, names_that, report_target
from hq_qiskit.training.config import TrainConfig
from hq_qiskit.training.runner import check_backend


def test_every_accepted_kind_has_a_row():
    assert set(KINDS) == set(backends.KIND_NAMES)
    entries = backends.load_backends()
    assert all(kind_of(e).name == e.kind for e in entries.values())
    trainable = names_that(lambda k: k.trains, entries)
    assert "aer" in trainable and not any(entries[n].kind == "runtime" for n in trainable)


def test_training_on_a_runtime_entry_names_the_trainable_ones():
    with pytest.raises(ConfigError, match=r"--backend ibm_fez: a runtime target cannot train; "
                       r"training runs on .*aer-noisy-brisbane"):  # fmt: skip
        check_backend(TrainConfig(backend="ibm_fez"))


def test_report_targets():
    entry = backends.get_backend("aer-noisy-brisbane")
    where = report_target(entry)
    assert where.label == "FakeBrisbane" and where.target.num_qubits == 127
    with pytest.raises(ConfigError, match="ideal simulator: it has no device"):
        report_target(backends.get_backend("aer"))


def test_a_retired_device_reports_on_its_fake_twin_with_a_note():
    from qiskit_ibm_runtime.fake_provider.local_service import QiskitRuntimeLocalService

    service = QiskitRuntimeLocalService()  # an account that cannot use ibm_brisbane
    where = report_target(backends.get_backend("ibm_brisbane"), service=service)
    assert where.label == "FakeBrisbane" and where.target.num_qubits == 127
    assert "device 'ibm_brisbane' has been retired" in where.note
    assert "fake twin FakeBrisbane (calibration snapshot 2025-02-26" in where.note
