"""Settings and record: ``TrainSettings`` is what a command says, frozen; ``prepare`` alone
writes the resolved ``TrainConfig``; resuming compares settings with settings."""

from __future__ import annotations

import dataclasses

import pytest

from hq_qiskit.errors import ConfigError
from hq_qiskit.training.config import TrainConfig, TrainSettings, settings_that_differ
from hq_qiskit.training.runner import prepare

OPTIONS = {"width": 2, "depth": 2, "patch_px": 64}


def test_settings_are_frozen():
    settings = TrainSettings(epochs=2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.epochs = 3  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        TrainConfig().class_names = ["x"]  # type: ignore[misc]


def test_prepare_resolves_a_noisy_run_and_keeps_its_settings_as_given():
    """A noisy backend turns the exact Aer check off in the record only: the settings as given
    still say 4, so ablation --resume with the same options finds no difference (before the
    split, the record said 0 and the same command was refused as differing)."""
    settings = TrainSettings(model_options=dict(OPTIONS), backend="aer-noisy-fez", device="cpu")
    lines: list[str] = []
    record = prepare(settings, lines.append).config
    assert settings == TrainSettings(model_options=OPTIONS, backend="aer-noisy-fez", device="cpu")
    assert record.aer_check_samples == 0 and settings.aer_check_samples == 4
    assert record.val_stride_px == 64 and record.channels_last is True  # hq-unet's choice
    assert set(OPTIONS.items()) < set(record.model_options.items())  # defaults filled in
    assert record.noise_snapshot and record.noise_snapshot.startswith("fake_fez")
    assert record.class_names and len(record.mean) == 3 and record.versions["torch"]
    assert record.given() == settings
    assert any("engine-vs-Aer check is skipped" in line for line in lines)

    saved = TrainConfig.from_dict(record.to_dict())  # as config.json holds it
    assert settings_that_differ(settings, saved) == []
    elsewhere = dataclasses.replace(settings, device="cuda", workers=2)
    assert settings_that_differ(elsewhere, saved) == []  # where it runs, not what it computes
    other = dataclasses.replace(settings, lr=0.5, model_options={**OPTIONS, "width": 4})
    assert settings_that_differ(other, saved) == ["lr", "model_options"]


def test_a_record_saved_before_settings_were_kept_compares_on_its_resolved_fields():
    old = TrainConfig(model_options={**OPTIONS, "bottleneck": "quantum"}, val_stride_px=64)
    assert old.given() is None and "settings" not in {k for k, v in old.to_dict().items() if v}
    mine = TrainSettings(model_options=dict(OPTIONS))  # None stride: the run's to choose
    assert settings_that_differ(mine, old) == []
    assert settings_that_differ(dataclasses.replace(mine, epochs=3), old) == ["epochs"]


def test_resume_changes_only_where_a_run_goes_and_its_epochs():
    record = TrainConfig(epochs=2, settings=TrainSettings(epochs=2).settings_dict())
    longer = record.resumed(epochs=5, device="cpu")
    assert longer.epochs == 5 and longer.given() == TrainSettings(epochs=5, device="cpu")
    with pytest.raises(ConfigError, match=r"keeps its \['lr'\]"):
        record.resumed(lr=0.1)
