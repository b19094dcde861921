"""``hq-qiskit backends``: list the named execution targets of backends.toml."""

from __future__ import annotations

from pathlib import Path

import click

from hq_qiskit.hardware.backends import default_path, load_backends


def _budget(shots: int, precision: float) -> str:
    if shots:
        return f"{shots} shots"
    return "exact" if precision == 0 else f"precision {precision:g}"


@click.command("backends")
@click.option(
    "--backends-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="A backends.toml to read instead of the default one.",
)
def backends(backends_file: Path | None) -> None:
    """List the execution targets that --backend accepts, from backends.toml.

    \b
    Examples:
      hq-qiskit backends
      hq-qiskit backends --backends-file my_backends.toml
    """
    entries = load_backends(backends_file)
    click.echo(f"# {backends_file or default_path()}")
    head = ("name", "kind", "noise", "device", "budget", "opt", "layout", "mitigation")
    rows = [head]
    for b in entries.values():
        device = b.device or "-"
        if b.kind == "runtime" and b.local:
            device = f"{device} (local mode)"
        rows.append(
            (
                b.name,
                b.kind,
                b.noise or "ideal",
                device,
                _budget(b.shots, b.precision),
                str(b.optimization_level),
                b.layout,
                ",".join(b.mitigation) or "-",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    for row in rows:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    for b in entries.values():
        if b.description:
            click.echo(f"{b.name}: {b.description}")
