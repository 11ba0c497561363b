"""Errors that mean "the configuration or input is wrong" (shown without a traceback)."""


class ConfigError(ValueError):
    """A bad setting or input: the message names the bad value and what is allowed."""
