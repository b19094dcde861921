"""``hq-qiskit report``: what every quantum block costs on a device, as Markdown, JSON and PNG."""

from __future__ import annotations

from pathlib import Path

import click

from hq_qiskit.circuits import BLOCKS


@click.command("report")
@click.option(
    "--backend",
    "names",
    multiple=True,
    metavar="NAME",
    help="Entry of backends.toml (repeatable). Default: every entry with a device "
    "or noise model, one report per distinct device.",
)
@click.option(
    "--backends-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="A backends.toml to read instead of the default one.",
)
@click.option(
    "--block",
    "blocks",
    multiple=True,
    type=click.Choice(sorted(BLOCKS)),
    help="Quantum block to transpile (repeatable). Default: all four.",
)
@click.option(
    "--levels",
    default="0,1,2,3",
    show_default=True,
    help="Preset optimisation levels, comma-separated.",
)
@click.option(
    "--seeds",
    type=click.IntRange(1, 50),
    default=3,
    show_default=True,
    help="Transpiler seeds per level (0 .. N-1).",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("reports"),
    show_default=True,
    help="Folder for transpile_report.{md,json,png}.",
)
@click.option(
    "--fractional-gates",
    is_flag=True,
    help="Also transpile for the target with IBM's fractional gates rzz/rx, where the device "
    "offers them (rows labelled +fractional, beside the plain ones).",
)
@click.option(
    "--overwrite",
    is_flag=True,
    help="Replace the transpile_report.* files already in --out (e.g. another device's).",
)
def report(names, backends_file, blocks, levels, seeds, out, fractional_gates, overwrite) -> None:
    """Transpile every quantum block for a device at levels 0-3 and report its cost.

    Depth, two-qubit depth and count, routing swaps, duration, ESP, width and layout per
    level and seed, plus the noise-aware layout against the preset one. Without IBM
    credentials the device's fake twin from qiskit-ibm-runtime is used. A report already in
    --out (e.g. another device's) is replaced only with --overwrite.

    \b
    Examples:
      hq-qiskit report --backend ibm_brisbane
      hq-qiskit report --backend ibm_fez --block enrichment_qcnn --seeds 5 --out reports/fez
      hq-qiskit report --backend ibm_fez --fractional-gates
    """
    import logging

    from hq_qiskit.atomic import probe_writable

    probe_writable(out, "--out")
    if logging.getLogger().level > logging.DEBUG:  # the transpiler logs every pass at INFO
        logging.getLogger("qiskit").setLevel(logging.WARNING)
    level_list = parse_levels(levels)
    check_earlier(out, overwrite)
    entries = report_entries(names, backends_file, fractional_gates)
    rows, snapshots = transpile_entries(entries, blocks or tuple(BLOCKS), level_list, seeds)
    write_report(out, rows, snapshots)


def parse_levels(levels: str) -> list[int]:
    """``"0,1,2,3"`` -> the sorted distinct preset optimisation levels, each among 0..3."""
    from hq_qiskit.errors import ConfigError

    try:
        level_list = sorted({int(v) for v in levels.split(",") if v.strip()})
    except ValueError:
        raise ConfigError(f"--levels {levels!r} is not a comma-separated list of 0..3") from None
    if not level_list or any(v not in (0, 1, 2, 3) for v in level_list):
        raise ConfigError(f"--levels {levels!r}: levels must be among 0, 1, 2, 3")
    return level_list


def check_earlier(out: Path, overwrite: bool) -> None:
    """Refuse an ``--out`` that holds an earlier transpile report, unless ``overwrite``."""
    from hq_qiskit.errors import OutputError

    earlier = [out / f"transpile_report{s}" for s in (".md", ".json", ".png")]
    if not overwrite and any(p.exists() for p in earlier):
        raise OutputError(
            f"--out {out}: holds an earlier transpile report ({earlier[0].name}); pass "
            "--overwrite to replace it, or give each device its own --out (e.g. --out reports/fez)"
        )


def report_entries(names, backends_file: Path | None, fractional_gates: bool) -> list:
    """The backends.toml entries to report on: those named, else every one with a device or
    noise model; with ``fractional_gates`` each plain entry is followed by its fractional twin.
    """
    import dataclasses

    from hq_qiskit.errors import ConfigError
    from hq_qiskit.hardware.backends import get_backend, load_backends

    entries = (
        [get_backend(n, backends_file) for n in names]
        if names
        else [b for b in load_backends(backends_file).values() if b.noise is not None]
    )
    if not entries:
        raise ConfigError("no backend with a device or noise model to report on; pass --backend")
    if fractional_gates:  # each entry plain, then with fractional gates where offered
        entries = [v for b in entries for v in (b, dataclasses.replace(b, fractional_gates=True))]
    return entries


def transpile_entries(
    entries: list, blocks: tuple[str, ...], level_list: list[int], seeds: int
) -> tuple[list, dict[str, str]]:
    """Transpile ``blocks`` for each distinct target of ``entries``: (rows, snapshot per label).

    Prints each target's note; an entry asking for fractional gates its target lacks is
    skipped with one line, and a target already reported (same label) is not repeated.
    """
    from hq_qiskit.hardware.kinds import report_target
    from hq_qiskit.hardware.transpile_report import transpile_rows

    rows, done, snapshots = [], set(), {}
    for b in entries:
        where = report_target(b)
        click.echo(where.note)
        if b.fractional_gates and not where.label.endswith("+fractional"):
            click.echo(
                f"{b.name}: --fractional-gates: {where.label}'s target has no rzz/rx (its "
                "snapshot predates them or the device lacks them); no +fractional rows"
            )
            continue
        label, target = where.label, where.target
        if label in done:
            continue
        done.add(label)
        snapshots[label] = where.snapshot or "unknown"
        rows += transpile_rows(
            target,
            label,
            blocks=blocks,
            levels=level_list,
            seeds=tuple(range(seeds)),
            noise_aware_level=b.optimization_level,  # the entry's own settings
            noise_aware_seed=b.seed_transpiler,
        )
    return rows, snapshots


def write_report(out: Path, rows: list, snapshots: dict[str, str]) -> None:
    """Write transpile_report.{md,json,png} into ``out`` and print the Markdown table."""
    from hq_qiskit.atomic import atomic_write
    from hq_qiskit.hardware.transpile_report import plot_png, to_json, to_markdown

    markdown = to_markdown(rows, snapshots)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / "transpile_report.md", "# Transpile report\n\n" + markdown)
    atomic_write(out / "transpile_report.json", to_json(rows, snapshots))
    plot_png(rows, out / "transpile_report.png")
    click.echo(markdown)
    click.echo(f"wrote {out}/transpile_report.md, .json and .png")
