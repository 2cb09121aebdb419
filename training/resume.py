"""What ``training.train --resume`` continues with: the run's configuration as its checkpoint
stored it, with the flags given again checked against it.

A checkpoint records the resolved training configuration (every field of the trainer's typed
config, as JSON values). Resuming with only ``--data`` (and ``--checkpoint``) therefore continues
the same run: the stored values replace the defaults of every flag not given. A flag given again
must agree with the stored value, unless it only says how or how long the run is executed
(the trainer's ``changeable`` fields: stages, schedule, loader workers, checkpoint cadence, where
to stop, ...), since those do not change what is computed; a disagreeing flag is refused with one
line naming it and both values, because silently training on with another learning rate,
batch or seed would make a run no one configured.
"""

from __future__ import annotations

import argparse
import dataclasses
import typing
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

from hadoop.cli import UsageError

_UNSET = object()


def flag(name: str) -> str:
    """The command-line flag of a config field: ``ids_per_batch`` -> ``--ids-per-batch``."""
    return "--" + name.replace("_", "-")


def given_flags(parser: argparse.ArgumentParser, argv: Sequence[str],
                parsed: argparse.Namespace) -> set[str]:
    """The destinations of the flags ``argv`` gives explicitly (with any value, the default's
    too): argparse fills in a default only where the namespace it parses into has no value."""
    probe = argparse.Namespace(**dict.fromkeys(vars(parsed), _UNSET))
    parser.parse_args(list(argv), namespace=probe)
    return {dest for dest, value in vars(probe).items() if value is not _UNSET}


def stored_settings(config: Any, *, not_stored: Collection[str]) -> dict[str, Any]:
    """``config`` (a dataclass) as JSON values, less the fields that belong to one invocation."""
    return {f.name: _to_json(getattr(config, f.name)) for f in dataclasses.fields(config)
            if f.name not in not_stored}


def resumed_args(args: argparse.Namespace, given: Collection[str], stored: Mapping[str, Any],
                 *, config_type: type, changeable: Collection[str], where: str,
                 ) -> argparse.Namespace:
    """``args`` with every flag not given taken from the stored run; a given flag that is not
    ``changeable`` must equal the stored value (a :class:`UsageError` names both otherwise).
    Stored settings this version has no flag for are ignored."""
    hints = typing.get_type_hints(config_type)
    values = vars(args).copy()
    for name, saved in stored.items():
        if name not in values:
            continue
        if name not in given:
            values[name] = _from_json(saved, hints.get(name))
        elif name not in changeable and _to_json(values[name]) != saved:
            raise UsageError(f"{_shown(name, values[name])} disagrees with the run in {where}, "
                             f"which has {_shown(name, saved)}: leave the flag out to continue "
                             "that run, or start another run in a new --checkpoint directory")
    return argparse.Namespace(**values)


def _shown(name: str, value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return flag(name) if value else f"no {flag(name)}"
    return f"{flag(name)} {value}"


def _to_json(value: Any) -> Any:
    return str(value) if isinstance(value, Path) else value


def _from_json(value: Any, hint: Any) -> Any:
    """A stored value in the type of its field (paths are stored as strings)."""
    if isinstance(value, str) and (hint is Path or Path in typing.get_args(hint)):
        return Path(value)
    return value
