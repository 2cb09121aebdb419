"""One error root: every error class the project defines derives from ReidError, and none is also
a ValueError, RuntimeError or OSError (an ``except ValueError`` must never catch a user error by
accident, nor a user error slip past the CLI wrapper as a bug)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

from hadoop.errors import ReidError

PACKAGES = ("hadoop", "ingest", "training", "spark_jobs")
BUILTIN_BASES = (ValueError, RuntimeError, OSError, LookupError, TypeError)


def _error_classes() -> list[type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for package_name in PACKAGES:
        package = importlib.import_module(package_name)
        names = [package_name] + [m.name for m in pkgutil.walk_packages(package.__path__,
                                                                        package_name + ".")]
        for name in names:
            module = importlib.import_module(name)
            for _, obj in inspect.getmembers(module, inspect.isclass):
                if issubclass(obj, BaseException) and obj.__module__ == name:
                    found[f"{name}.{obj.__qualname__}"] = obj
    return [found[k] for k in sorted(found)]


ERRORS = _error_classes()


def test_the_packages_define_errors() -> None:
    assert len(ERRORS) >= 20


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: f"{e.__module__}.{e.__qualname__}")
def test_every_error_derives_from_reid_error_only(error: type[BaseException]) -> None:
    assert issubclass(error, ReidError)
    assert not issubclass(error, BUILTIN_BASES)

