"""Exceptions for mistakes a user can fix; each message names the thing and the fix."""


class HQError(Exception):
    """Base class: the CLI prints its message on one line and exits with status 2."""


class ConfigError(HQError):
    """A bad option, a bad config file or a bad backend entry."""


class DataError(HQError):
    """A missing, empty, corrupt or inconsistent data file or folder."""


class CircuitError(HQError):
    """A circuit the chosen engine cannot execute (unsupported gate, non-affine angle, ...)."""


class CheckpointError(HQError):
    """A checkpoint that cannot be read or does not match the model asked for."""


class OutputError(HQError):
    """An output location that cannot take a file: a full or read-only disk, no permission,
    or a target that exists (without --overwrite) or has the wrong kind or extension."""
