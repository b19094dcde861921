"""``hq-qiskit export-circuits``: write every quantum block to circuits/."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("export-circuits")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("circuits"),
    show_default=True,
    help="Folder for the generated files.",
)
@click.option("--no-png", is_flag=True, help="Skip the matplotlib drawings (faster).")
def export_circuits(out: Path, no_png: bool) -> None:
    """Write every quantum block as OpenQASM 3, QPY, a text and a PNG drawing.

    \b
    Examples:
      hq-qiskit export-circuits
      hq-qiskit export-circuits --out /tmp/circuits --no-png
    """
    from hq_qiskit.atomic import probe_writable
    from hq_qiskit.circuits.export import export_all

    probe_writable(out, "--out")
    for path in export_all(out, png=not no_png):
        click.echo(f"wrote {path}")
