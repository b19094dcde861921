"""Run the hq-qiskit command without installing it: ``python cli.py --help``."""

from hq_qiskit.cli.main import cli

if __name__ == "__main__":
    cli()
