"""`sagefit stage PROFILE`: copy the profile's model from the Hugging Face Hub into S3 and point the
profile at it.

The run itself is :func:`sagefit.ops.stage.run.stage`; this module finds the profile (a name from
``--profiles`` or a file path), the destination (``--s3-uri``, else the profile's own
``model.model_data_s3_uri`` when it is a prefix), prints a line per file and the summary, and then, only
after every object is uploaded and verified, writes ``model.model_data_s3_uri`` and ``model.revision``
(the commit sha) into the profile, comments kept (:mod:`sagefit.core.profile_edit`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from sagefit.cli.common import add_command, load
from sagefit.core.errors import SagefitError

if TYPE_CHECKING:
    from sagefit.cli.common import SubParsers
    from sagefit.core.profiles import LoadedProfile
    from sagefit.ops.stage.location import Destination
    from sagefit.ops.stage.run import Report

PREFIX_FIX = "pass --s3-uri s3://BUCKET/PREFIX/ (ending in '/')"


def _profile(args: argparse.Namespace) -> LoadedProfile:
    """A profile named in ``--profiles``, or the file ``args.profile`` names."""
    from sagefit.core.profiles import find_profile, load_profile

    given = Path(args.profile)
    if given.suffix in (".yaml", ".yml") or given.is_file():
        if not given.is_file():
            raise SagefitError("no such profile file", "check the path, or give a profile name", given)
        return load_profile(given)
    return find_profile(load(args), args.profile)


def _destination(args: argparse.Namespace, loaded: LoadedProfile) -> Destination:
    from sagefit.ops.stage.location import parse_destination

    if args.s3_uri:
        return parse_destination(args.s3_uri)
    current = loaded.profile.model.model_data_s3_uri
    if current is None:
        raise SagefitError("no S3 destination for the weights", PREFIX_FIX, loaded.path, "model.model_data_s3_uri")
    if not current.endswith("/"):
        raise SagefitError(
            f"model.model_data_s3_uri {current!r} is one object (a model.tar.gz), not a prefix to stage into",
            PREFIX_FIX,
            loaded.path,
        )
    return parse_destination(current, "model.model_data_s3_uri")


def _size(n: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:,.2f} {unit}"
    return f"{n} B"


def _summary(report: Report) -> list[str]:
    repo = report.repo
    if report.dry_run:
        lines = [
            f"dry run: would upload {report.count('would upload')} files, skip {report.count('would skip')} already "
            f"in S3; {len(report.files)} files, {_size(report.total_bytes)} in all; nothing written"
        ]
    else:
        lines = [
            f"staged {len(report.files)} files, {_size(report.total_bytes)}: {report.count('uploaded')} uploaded, "
            f"{report.count('resumed')} resumed, {report.count('skipped')} already there",
            f"manifest: {report.destination.manifest_uri}",
        ]
    lines.append(f"  s3 uri: {report.destination.uri}")
    lines.append(f"  revision: {repo.sha} ({repo.requested})")
    if report.left_out:
        names = ", ".join(path for path, _ in report.left_out[:4])
        more = f" and {len(report.left_out) - 4} more" if len(report.left_out) > 4 else ""
        lines.append(f"  left out ({len(report.left_out)} files the engine does not read): {names}{more}")
    if report.strays:
        names = ", ".join(report.strays[:3]) + (f" and {len(report.strays) - 3} more" if len(report.strays) > 3 else "")
        lines.append(
            f"note: {len(report.strays)} other objects under the prefix ({names}); the engine gets them too: "
            "delete them or stage into a new prefix"
        )
    return lines


def cmd_stage(args: argparse.Namespace) -> int:
    loaded = _profile(args)
    destination = _destination(args, loaded)
    if not args.dry_run:
        from sagefit.core.profile_edit import check_plain_file

        check_plain_file(loaded.path)  # refused before hours of upload, not after
    from sagefit.cli.target import announce_aws
    from sagefit.ops.stage.hub import require_library
    from sagefit.ops.stage.run import Options, stage

    require_library()  # the missing extra is named before AWS is asked anything
    profile = loaded.profile
    aws = announce_aws(profile.region)
    print(f"sagefit stage: {profile.model.hf_model_id} -> {destination.uri}", flush=True)
    options = Options(destination, args.kms_key_id, args.cache_dir, args.dry_run)
    report = stage(profile, aws, options, lambda line: print(f"  {line}", flush=True))
    for line in _summary(report):
        print(line)
    if args.dry_run:
        return 0
    from sagefit.core.profile_edit import write_changes

    changes: dict[tuple[str, ...], object] = {
        ("model", "model_data_s3_uri"): destination.uri,
        ("model", "revision"): report.repo.sha,
    }
    write_changes(loaded.path, changes)
    print(f"profile: wrote model.model_data_s3_uri and model.revision ({report.repo.sha[:12]}) to {loaded.path}")
    sys.stdout.flush()
    return 0


def register(sub: SubParsers) -> None:
    cmd = add_command(
        sub,
        "stage",
        cmd_stage,
        "copy the model's files from the Hub to S3 (uncompressed, KMS, resumable) and pin the profile to them",
    )
    cmd.add_argument("profile", metavar="PROFILE", help="profile name (mistral-7b), stack name or profile file path")
    cmd.add_argument(
        "--s3-uri",
        metavar="S3://BUCKET/PREFIX/",
        help="where the files go (default: the profile's model.model_data_s3_uri, when it ends in '/')",
    )
    cmd.add_argument("--kms-key-id", metavar="KEY", help="KMS key for the objects (default: the bucket's, else aws/s3)")
    cmd.add_argument(
        "--cache-dir", type=Path, metavar="DIR", help="Hugging Face cache to download into (default: HF_HUB_CACHE)"
    )
    cmd.add_argument(
        "--dry-run",
        action="store_true",
        help="list what would be uploaded or skipped; write nothing to S3 or the profile",
    )
