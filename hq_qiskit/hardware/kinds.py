"""Backend kinds: what each ``kind`` of ``backends.toml`` entry can do, in one small table.

A command asks the table instead of testing ``entry.kind`` itself, so a new kind of execution
target is one module with its functions plus one row in ``KINDS``. This is the only table of
kinds: ``backends.KIND_NAMES`` lists the same names for validating the file (a test keeps the
two equal).

    kind      trains   device runs (resolve, execute)      transpile target for reports
    aer       yes      no                                  the fake backend named by ``noise``
    runtime   no       executors.resolve_run, .execute     the device (or its fake twin)

A device run (``hq-qiskit run``) asks ``resolve_run`` where an entry's blocks run and
``execute`` to start a wave of blocks there (one job); both go through the entry's row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from qiskit.transpiler import Target

from hq_qiskit.errors import ConfigError
from hq_qiskit.hardware.backends import Backend, fake_backend, load_backends
from hq_qiskit.hardware.fleet import caveat_note
from hq_qiskit.hardware.layout import fractional_target, offers_fractional


@dataclass(frozen=True)
class ReportTarget:
    """Where a transpile report is computed: a label for its rows, the target, a note, and
    the calibration snapshot date of the properties behind it (None if unknown)."""

    label: str
    target: Target
    note: str
    snapshot: str | None = None


def _aer_report_target(entry: Backend, service=None) -> ReportTarget:
    from hq_qiskit.hardware.runtime import snapshot

    fake = fake_backend(entry.noise)
    note = f"{entry.name}: Aer with {entry.noise}'s target" + caveat_note(entry.noise)
    return ReportTarget(entry.noise, fake.target, note, snapshot(fake)["snapshot_date"])


def _runtime_report_target(entry: Backend, service=None) -> ReportTarget:
    """The device's target, or its fake twin's: offline, or for a device the account cannot
    use (retired like ibm_brisbane, or not in the plan): a report needs only a target."""
    from hq_qiskit.hardware.runtime import resolve, snapshot

    try:
        where = resolve(entry, service=service)
    except ConfigError as err:
        if entry.device is None or "account" not in str(err):
            raise
        fake = fake_backend(entry.noise)
        date = snapshot(fake)["snapshot_date"] or "?"
        reason = str(err).split(";")[0].removeprefix(f"--backend {entry.name}: ")
        note = (
            f"{entry.name}: {reason}; the report uses its fake twin {entry.noise} "
            f"(calibration snapshot {date}) instead"
        ) + caveat_note(entry.noise)
        return ReportTarget(entry.noise, fake.target, note, date)
    label = entry.noise if where.local else entry.device
    date = snapshot(where.backend)["snapshot_date"]
    target = fractional_target(where.backend.target, entry.fractional_gates)
    if entry.fractional_gates and offers_fractional(target):
        label += "+fractional"
    return ReportTarget(label, target, f"{entry.name}: {where.note}", date)


def _runtime_resolve(entry: Backend, **placement: Any):
    from hq_qiskit.hardware.executors import resolve_run

    return resolve_run(entry, **placement)


def _runtime_execute(target, jobs, **kw: Any):
    from hq_qiskit.hardware.executors import execute

    return execute(target, jobs, **kw)


@dataclass(frozen=True)
class BackendKind:
    """What entries of one kind can do.

    Attributes:
        name: the ``kind`` value in ``backends.toml``.
        trains: training may run its quantum blocks on such an entry.
        report_target: the target a transpile report of the entry is computed for.
        resolve: ``hq-qiskit run``: (entry, **placement flags) -> where its blocks run
            (None: the kind does not run device inference).
        execute: ``hq-qiskit run``: (target, block jobs, mode=, echo=) -> per block a
            pending job or a finished result (see ``executors.execute``).
    """

    name: str
    trains: bool
    report_target: Callable[..., ReportTarget]
    resolve: Callable[..., Any] | None = None
    execute: Callable[..., Any] | None = None

    @property
    def device_runs(self) -> bool:
        """``hq-qiskit run`` can execute blocks on entries of this kind."""
        return self.resolve is not None


KINDS: dict[str, BackendKind] = {
    "aer": BackendKind("aer", trains=True, report_target=_aer_report_target),
    "runtime": BackendKind(
        "runtime",
        trains=False,
        report_target=_runtime_report_target,
        resolve=_runtime_resolve,
        execute=_runtime_execute,
    ),
}


def kind_of(entry: Backend) -> BackendKind:
    """The ``KINDS`` row of an entry (``backends.toml`` loading guarantees it exists)."""
    return KINDS[entry.kind]


def names_that(can: Callable[[BackendKind], bool], entries: dict[str, Backend]) -> list[str]:
    """Sorted names of the entries whose kind ``can`` do something, e.g. ``lambda k: k.trains``."""
    return sorted(n for n, e in entries.items() if can(kind_of(e)))


def report_target(entry: Backend, service=None) -> ReportTarget:
    """The transpile target of an entry; an ideal entry has none. ``service``: the runtime
    service to look devices up in (default: the saved account, if any)."""
    if entry.noise is None:
        raise ConfigError(
            f"backend {entry.name!r} is an ideal simulator: it has no device to transpile for; "
            "choose e.g. ibm_fez or aer-noisy-brisbane"
        )
    return kind_of(entry).report_target(entry, service)


def resolve_run(entry: Backend, **placement: Any):
    """Where a device run executes an entry's blocks (its kind's ``resolve``).

    Args:
        placement: the run's flags, e.g. ``ideal``, ``device_only``, ``simulator``.

    Raises:
        ConfigError: the entry's kind does not run device inference (an Aer target); the
            message names the entries that do.
    """
    return run_kind(entry).resolve(entry, **placement)


def run_kind(entry: Backend) -> BackendKind:
    """The entry's kind if it runs device inference.

    Raises:
        ConfigError: it does not (an Aer target); the message names the entries that do.
    """
    kind = kind_of(entry)
    if kind.resolve is None:
        targets = names_that(lambda k: k.device_runs, load_backends())
        raise ConfigError(
            f"--backend {entry.name}: is an Aer simulator target (kind {entry.kind!r}); `run` "
            f"needs a runtime entry: {', '.join(targets)} (Aer targets are for `train --backend`)"
        )
    return kind


def execute(entry: Backend, target, jobs, **kw: Any):
    """Start a wave of a device run's blocks on ``target`` (its entry's kind's ``execute``):
    one result or pending job per block, in order."""
    return kind_of(entry).execute(target, jobs, **kw)
