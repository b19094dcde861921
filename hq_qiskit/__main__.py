"""``python -m hq_qiskit``: the ``hq-qiskit`` command (``torchrun -m hq_qiskit train ...``)."""

from hq_qiskit.cli.main import cli

if __name__ == "__main__":
    cli(prog_name="hq-qiskit")
