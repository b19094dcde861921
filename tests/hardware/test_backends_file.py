"""backends.toml: parsing, validation and the packaged copy."""

from __future__ import annotations

from pathlib import Path

import pytest

from hq_qiskit.errors import ConfigError
from hq_qiskit.hardware.backends import (
    Backend,
    default_path,
    fake_backend,
    fake_backend_names,
    get_backend,
    load_backends,
)

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "backends.toml"
    path.write_text(text)
    return path


def test_default_file_has_the_issue_targets():
    backends = load_backends()
    for name in (
        "aer",
        "aer-noisy-brisbane",
        "fake_brisbane",
        "ibm_brisbane",
        "ibm_torino",
        "ibm_fez",
    ):
        assert name in backends
    assert backends["aer"].is_exact and backends["aer"].noise is None
    noisy = backends["aer-noisy-brisbane"]
    assert (noisy.kind, noisy.noise, noisy.layout) == ("aer", "FakeBrisbane", "noise_aware")
    ibm = get_backend("ibm_fez")
    assert (ibm.kind, ibm.device, ibm.noise) == ("runtime", "ibm_fez", "FakeFez")
    assert ibm.mitigation == ("trex", "twirling")


def test_packaged_copy_is_identical_to_the_top_level_file():
    packaged = ROOT / "hq_qiskit" / "hardware" / "backends.toml"
    assert packaged.read_bytes() == (ROOT / "backends.toml").read_bytes()
    assert default_path() == ROOT / "backends.toml"


def test_backend_is_frozen():
    with pytest.raises(AttributeError):
        get_backend("aer").shots = 5  # type: ignore[misc]


def test_unknown_name_lists_valid_names():
    with pytest.raises(ConfigError, match=r"unknown backend 'ibm_nowhere'.*aer, aer-noisy"):
        get_backend("ibm_nowhere")


def test_unknown_key_names_file_entry_key_and_accepted(tmp_path):
    path = write(tmp_path, '[x]\nkind = "aer"\noptimisation_lvl = 3\n')
    with pytest.raises(ConfigError) as err:
        load_backends(path)
    msg = str(err.value)
    assert str(path) in msg and "[x]" in msg and "'optimisation_lvl'" in msg
    assert "optimization_level" in msg and "\n" not in msg


@pytest.mark.parametrize(
    ("line", "key", "accepted"),
    [
        ('shots = "many"', "shots", "integer"),
        ("optimization_level = 4", "optimization_level", "0, 1, 2 or 3"),
        ('layout = "clever"', "layout", "'noise_aware'"),
        ("precision = true", "precision", "number"),
        ('kind = "cloud"', "kind", "'runtime'"),
    ],
)
def test_bad_values_are_one_clear_line(tmp_path, line, key, accepted):
    text = f"[x]\n{line}\n" if line.startswith("kind") else f'[x]\nkind = "aer"\n{line}\n'
    with pytest.raises(ConfigError, match=rf"\[x\] key '{key}'.*accepted: .*{accepted}"):
        load_backends(write(tmp_path, text))


def test_runtime_entries_need_a_fake_twin_and_a_budget(tmp_path):
    with pytest.raises(ConfigError, match="needs key 'noise'"):
        load_backends(write(tmp_path, '[r]\nkind = "runtime"\ndevice = "ibm_fez"\nshots = 8\n'))
    with pytest.raises(ConfigError, match="shots > 0 or precision > 0"):
        load_backends(
            write(tmp_path, '[r]\nkind = "runtime"\ndevice = "ibm_fez"\nnoise = "FakeFez"\n')
        )
    with pytest.raises(ConfigError, match="'mitigation' applies to kind 'runtime' only"):
        load_backends(write(tmp_path, '[a]\nkind = "aer"\nmitigation = ["trex"]\n'))
    with pytest.raises(ConfigError, match="'mitigation'.*'zne'"):
        load_backends(
            write(
                tmp_path,
                '[r]\nkind = "runtime"\nnoise = "FakeFez"\nlocal = true\n'
                'shots = 8\nmitigation = ["pec"]\n',
            )
        )


def test_missing_file_and_bad_toml(tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match="not found"):
        load_backends(tmp_path / "absent.toml")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_backends(write(tmp_path, "[x\n"))
    monkeypatch.setenv("HQ_QISKIT_BACKENDS", str(write(tmp_path, '[mine]\nkind = "aer"\n')))
    assert list(load_backends()) == ["mine"]
    assert isinstance(get_backend("mine"), Backend)


def test_fake_backend_resolves_and_rejects():
    assert fake_backend("FakeFez").num_qubits == 156
    with pytest.raises(ConfigError, match="'FakeAtlantis' is not a fake backend of .*FakeFez"):
        fake_backend("FakeAtlantis")


def test_fake_backend_names_are_the_fake_providers_backends():
    from qiskit_ibm_runtime import fake_provider

    names = fake_backend_names()
    assert {"FakeBrisbane", "FakeFez", "FakeTorino", "FakeManilaV2"} <= set(names)
    for name in names:  # every name offered resolves to a backend class
        assert isinstance(getattr(fake_provider, name), type)


def test_current_heron_and_nighthawk_devices_have_their_fake_twins():
    from hq_qiskit.hardware.backends import fake_backend
    from hq_qiskit.hardware.runtime import snapshot

    backends = load_backends()
    for name, twin, qubits in [
        ("ibm_fez", "FakeFez", 156),
        ("ibm_marrakesh", "FakeMarrakesh", 156),
        ("ibm_kingston", "FakeKingston", 156),
        ("ibm_miami", "FakeMiami", 120),  # Nighthawk r1
    ]:
        entry = backends[name]
        assert (entry.device, entry.noise) == (name, twin)
        fake = fake_backend(twin)
        assert fake.num_qubits == qubits
        assert snapshot(fake)["snapshot_date"][:10] in entry.description  # said in the listing


def test_the_retired_damping_keys_are_read_and_ignored(tmp_path):
    """calibration_samples / calibration_shots belonged to the damping noise mode (now
    bench/damping.py): an older backends file, or an older run's stored entry, still loads."""
    old = 'kind = "aer"\nnoise = "FakeFez"\nshots = 64\ncalibration_samples = 2\n'
    path = write(tmp_path, f"[old]\n{old}calibration_shots = 8\n[new]\n{old}")
    entries = load_backends(path)
    assert entries["old"] == Backend(name="old", kind="aer", noise="FakeFez", shots=64)
    assert (
        "calibration_samples"
        not in Backend.from_dict(
            {"name": "x", "kind": "aer", "noise": "FakeFez", "calibration_samples": 3},
            "config.json",
        ).to_dict()
    )
    text = (ROOT / "backends.toml").read_text()
    assert "calibration_" not in text  # neither copy documents or sets them any more
    assert text == (ROOT / "hq_qiskit" / "hardware" / "backends.toml").read_text()
