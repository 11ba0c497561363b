"""Check the command line's overrides before Hydra runs, so that a mistyped key or option stops
with one line and exit code 2 like every other configuration error (Hydra's own report is several
lines with exit code 1).

The configuration is composed once with the overrides as given, each sweep (``seed=0,1``,
``range(3)``) at its first value. Only Hydra's verdicts on the overrides themselves are reported
(an unknown key, an unknown option of a group, an override that does not parse); anything else,
and any command this check cannot read (``--config-dir``, ``--info``, an Optuna ``interval``...),
is left to Hydra.
"""

from __future__ import annotations

import contextlib
import io

from hydra import compose, initialize_config_dir
from hydra._internal.utils import get_args_parser
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import ConfigCompositionException, MissingConfigException, OverrideParseException

from egnn.errors import ConfigError


def override_error(argv: list[str], config_dir: str, config_name: str) -> ConfigError | None:
    """The error of the overrides in ``argv`` (a command line without the program name) against
    ``config_name`` in ``config_dir``, or None when they compose or cannot be checked here."""
    try:  # Hydra's own parser, silenced: Hydra prints its usage or version itself
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            args = get_args_parser().parse_args(argv)
    except SystemExit:  # not a command line Hydra accepts (or --version)
        return None
    own_setup = (args.config_dir, args.config_name, args.config_path, args.experimental_rerun)
    if any(value is not None for value in own_setup) or args.info or args.help or args.hydra_help:
        return None
    try:
        overrides = _first_of_each_sweep(args.overrides)
    except OverrideParseException as err:
        return ConfigError(_one_line(str(err)))
    except Exception:  # noqa: BLE001 - a sweep only a sweeper can expand (Optuna's interval)
        return None
    if GlobalHydra.instance().is_initialized():
        return None  # inside a running Hydra application: nothing to check
    try:
        with initialize_config_dir(version_base="1.3", config_dir=config_dir):
            compose(config_name, overrides=overrides, return_hydra_config=True)
    except MissingConfigException as err:
        return ConfigError(_missing_option(err))
    except ConfigCompositionException as err:
        return ConfigError(_one_line(str(err)))
    except Exception:  # noqa: BLE001 - not an override error: Hydra reports it when it runs
        return None
    finally:
        GlobalHydra.instance().clear()
    return None


def _first_of_each_sweep(overrides: list[str]) -> list[str]:
    """``overrides`` with each sweep replaced by its first value (``seed=0,1`` -> ``seed=0``)."""
    parsed = OverridesParser.create().parse_overrides(overrides)
    return [
        f"{o.get_key_element()}={next(iter(o.sweep_string_iterator()))}"
        if o.is_sweep_override()
        else o.input_line
        for o in parsed
    ]


def _missing_option(err: MissingConfigException) -> str:
    """``"Could not find 'experiment/nbodyy' (allowed: ae_community, ...)"``."""
    message = str(err).splitlines()[0]
    if err.options:
        message += f" (allowed: {', '.join(err.options)})"
    return message


def _one_line(message: str) -> str:
    """Hydra's message on one line: its lines joined, the link to the grammar's page dropped."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    return " ".join(line for line in lines if not line.startswith("See https://"))
