"""The README's commands, checked against the code so that the README cannot rot."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from click.testing import CliRunner

from hq_qiskit.cli.main import COMMANDS, cli

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def fresh_machine_commands() -> list[str]:
    """The bash blocks of the "Two commands for a fresh machine" section, in order."""
    section = README.split("## Two commands for a fresh machine", 1)[1].split("\n## ", 1)[0]
    return [b.strip() for b in re.findall(r"```bash\n(.*?)```", section, flags=re.S)]


def test_exactly_two_commands_main_job_then_tests() -> None:
    main_job, tests = fresh_machine_commands()
    for command in (main_job, tests):
        steps = [s.strip() for s in command.split("&&")]
        assert "pip install torch==2.13.0" in steps, "torch must be pinned before anything else"
        assert steps.index("pip install torch==2.13.0") < next(
            i for i, s in enumerate(steps) if s.startswith("pip install -e")
        )
    assert main_job.endswith("hq-qiskit train --backend aer")
    assert tests.endswith("pytest -q -n auto")


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text().replace(" -q ", " ")  # CI installs quietly
    _, tests = fresh_machine_commands()
    for step in [s.strip() for s in tests.split("&&")][2:]:  # the steps after the venv
        assert step.replace(" -q ", " ") in ci, f".ci/run does not run the README's step {step!r}"


def test_every_command_in_the_readme_table_exists() -> None:
    named = set(re.findall(r"^\| `hq-qiskit ([a-z-]+)", README, flags=re.M))
    assert named, "the README lists the commands in a table"
    assert named <= set(COMMANDS), f"README names unknown commands: {named - set(COMMANDS)}"


def test_the_main_job_runs_at_tiny_size(tmp_path: Path) -> None:
    main_job, _ = fresh_machine_commands()
    args = shlex.split(main_job.split("&&")[-1])[1:]  # drop the program name
    tiny = ["--epochs", "1", "--patches-per-epoch", "4", "--batch-size", "2", "--width", "4"]
    tiny += ["--patch-px", "32", "--aer-check-samples", "1", "--out", str(tmp_path / "run")]
    result = CliRunner().invoke(cli, [*args, *tiny])
    assert result.exit_code == 0, result.output
    assert "mIoU" in result.output
    assert (tmp_path / "run" / "best.pt").is_file()
