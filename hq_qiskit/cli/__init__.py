"""The ``hq-qiskit`` command: ``main.py`` holds the group, one module per command."""
