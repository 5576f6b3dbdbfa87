"""What every command shares: the ``--profiles`` option, loading and finding profiles.

(AWS and emulator sessions, with the ``--target`` option: :mod:`sagefit.cli.target`.)

Kept free of aws_cdk and boto3 (they are imported inside the functions that need them, or only for
type checking) so that `sagefit plan` and `sagefit validate` load neither.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sagefit.core.catalog import Catalog
    from sagefit.core.profiles import LoadedProfile

    SubParsers = argparse._SubParsersAction[argparse.ArgumentParser]

Command = Callable[[argparse.Namespace], int]
"""A command: parsed arguments in, exit status out (user errors are raised as SagefitError)."""

DEFAULT_PROFILES = Path("model_profiles")
STACK_HELP = "stack name (MistralStack) or profile name (mistral-7b)"
CATALOG_HELP = (
    "instance catalog YAML (default: ./sagefit-catalog.yaml when it exists, else the packaged "
    "sagefit/data/instances.yaml)"
)


def add_command(sub: SubParsers, name: str, func: Command, help_: str) -> argparse.ArgumentParser:
    """A sub-command running ``func``, with the ``--profiles`` option every command takes."""
    cmd = sub.add_parser(name, help=help_, description=help_)
    cmd.set_defaults(func=func)
    cmd.add_argument(
        "--profiles",
        type=Path,
        default=DEFAULT_PROFILES,
        metavar="DIR",
        help="directory of model profiles (default: model_profiles)",
    )
    return cmd


def load(args: argparse.Namespace, catalog: Catalog | None = None) -> list[LoadedProfile]:
    """Every profile in ``--profiles``, checked against ``catalog``.

    The default catalog is the project's, else the packaged one."""
    from sagefit.core.profiles import load_profiles

    return load_profiles(args.profiles, catalog)


def catalog(args: argparse.Namespace) -> Catalog | None:
    """The catalog named by ``--catalog``, or None for the default (the project catalog, else the packaged one)."""
    path = getattr(args, "catalog", None)
    if path is None:
        return None
    from sagefit.core.catalog import load_catalog_file

    return load_catalog_file(path)


def find(args: argparse.Namespace) -> LoadedProfile:
    """The profile the ``stack`` argument names (stack name or profile name).

    A member of a shared endpoint (``endpoint:``) has no endpoint or stack of its own, so the commands
    that act on one (preflight, status, invoke, resume, diff) refuse it instead of acting on names that
    were never deployed."""
    from sagefit.core.errors import SagefitError
    from sagefit.core.profiles import find_profile

    loaded = find_profile(load(args), args.stack)
    endpoint = loaded.profile.endpoint
    if endpoint is not None:
        raise SagefitError(
            f"{args.stack} is a member of shared endpoint {endpoint}, which this command does not handle yet",
            f"see `sagefit plan --endpoint {endpoint}`; deploy and destroy it as {endpoint}",
            loaded.path,
            "endpoint",
        )
    return loaded
