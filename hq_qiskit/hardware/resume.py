"""What a job record must match before ``--resume`` reuses it, what its job really applied,
and the records a stopped run left behind.

- ``job_key``: the fields that decide a block's values besides its inputs (circuit, device,
  noise source and snapshot, layout, shots or precision, seed, mitigation asked for); written
  into every job record at submission and compared on resume (``check_key``): a record made
  under other settings is refused in one line naming each field that differs.
- ``applied_mitigation``: the mitigation a finished job reports in its result metadata (the
  runtime's ``resilience``, ``twirling`` and ``dynamical_decoupling`` sections), never what
  was asked; local testing mode reports none.
- ``mark_stale``: local jobs die with the process that ran them, so a local record still
  SUBMITTED without values is marked STALE.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from hq_qiskit.atomic import atomic_write
from hq_qiskit.errors import HQError
from hq_qiskit.hardware.layout import MappedCircuit
from hq_qiskit.hardware.runtime import RuntimeTarget, snapshot

STALE = "STALE"
# the key fields, as named in the refusal
KEY_FIELDS = (
    "circuit_sha256",
    "device",
    "noise_source",
    "snapshot_date",
    "final_layout",
    "shots",
    "precision",
    "seed",
    "mitigation_requested",
)


def circuit_digest(mapped: MappedCircuit) -> str:
    """SHA-256 of the ISA circuit's instructions (names, physical qubits, parameters)."""
    qc = mapped.circuit
    rows = [
        (inst.operation.name, [qc.find_bit(q).index for q in inst.qubits],
         [str(p) for p in inst.operation.params])
        for inst in qc.data
    ]  # fmt: skip
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest()


def noise_source(target: RuntimeTarget) -> str:
    """Where a job's noise comes from, in words: the device, the fake twin's snapshot in local
    testing mode, or none (the ideal simulator)."""
    if target.ideal:
        twin = getattr(target.entry, "noise", None)
        return f"none (ideal simulator with {twin}'s target)" if twin else "none (ideal simulator)"
    if target.local:
        return f"fake twin {getattr(target.backend, 'name', '?')} (local testing mode)"
    return f"device {getattr(target.backend, 'name', '?')}"


def job_key(
    mapped: MappedCircuit,
    target: RuntimeTarget,
    *,
    shots: int,
    precision: float,
    seed: int | None,
    mitigation_requested: Sequence[str],
) -> dict[str, Any]:
    """The fields a reused job must share with today's request (``KEY_FIELDS``); the seed
    only where a simulator uses it (local testing mode), else None."""
    return {
        "circuit_sha256": circuit_digest(mapped),
        "device": getattr(target.backend, "name", "?"),
        "noise_source": noise_source(target),
        "snapshot_date": snapshot(target.backend)["snapshot_date"],
        "final_layout": list(mapped.final_layout),
        "shots": shots,
        "precision": precision if not shots else 0.0,
        "seed": seed if target.local else None,
        "mitigation_requested": list(mitigation_requested),
    }


def check_key(record_path: Path, record: Mapping[str, Any], key: Mapping[str, Any]) -> None:
    """Refuse a record made under other settings than ``key`` (fields a record lacks, from
    an older version, are not compared).

    Raises:
        HQError: one line naming each differing field, recorded against asked.
    """
    differ = [
        f"{k} {_short(record[k])} (recorded) vs {_short(key[k])} (asked)"
        for k in KEY_FIELDS
        if k in record and k in key and _norm(record[k]) != _norm(key[k])
    ]
    if differ:
        raise HQError(
            f"{record_path}: --resume found a job made under other settings: "
            f"{'; '.join(differ)}; drop --resume, choose another --out, or ask for the "
            "recorded settings"
        )


def _norm(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def _short(value: Any) -> str:
    """A value for the one-line refusal: a digest's first 12 hex digits, a list's first 6."""
    if isinstance(value, list) and len(value) > 6:
        return str(value[:6])[:-1] + ", ...]"
    text = str(value)
    return text[:12] + "..." if len(text) == 64 else text


def applied_mitigation(metadata: Mapping[str, Any] | None) -> tuple[str, ...]:
    """The mitigation a finished job reports in its result metadata: TREX
    (``resilience.measure_mitigation``), ZNE (``resilience.zne_mitigation``), twirling
    (``twirling.enable_gates``), DD (``dynamical_decoupling.enable``); () when it reports none
    (local testing mode's results carry no such section). The client-side Estimator nests
    these sections under ``options``."""
    meta = dict(metadata or {})
    meta = dict(meta.get("options") or meta)
    res, twirl, dd = (dict(meta.get(k) or {}) for k in
                      ("resilience", "twirling", "dynamical_decoupling"))  # fmt: skip
    found = {
        "trex": res.get("measure_mitigation"),
        "zne": res.get("zne_mitigation"),
        "twirling": twirl.get("enable_gates"),
        "dd": dd.get("enable"),
    }
    return tuple(name for name, on in found.items() if on is True)


def mark_stale(jobs: Path) -> list[str]:
    """Mark local job records left SUBMITTED without values (their process stopped before the
    result; a local job cannot be fetched again) as STALE; the tags marked."""
    marked = []
    for path in sorted(Path(jobs).glob("*.json")) if Path(jobs).is_dir() else []:
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if (
            record.get("local", False)
            and record.get("status") == "SUBMITTED"
            and not path.with_suffix(".npz").is_file()
        ):
            record["status"] = STALE
            record["stale_reason"] = "the run that submitted it stopped before its result"
            atomic_write(path, json.dumps(record, indent=1, default=str))
            marked.append(path.stem)
    return marked
