"""Data shipped with the package: ``loveda_sample/``, 52 real LoveDA 512-px tiles (see its
README for provenance, licence and class mapping); open it with ``open_tiles(None, split)``."""

__all__: list[str] = []
