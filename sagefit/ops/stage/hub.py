"""The Hugging Face Hub, through ``huggingface_hub``: pin a revision, list its files, download one.

The revision is resolved to a commit sha once (``HfApi.model_info``), and every later call names that
sha, never the branch: a push to ``main`` during a run cannot mix two commits' files, and the sha
written to the profile is the commit whose files were uploaded. The listing (``list_repo_tree``)
carries what the Hub publishes about each file: its size, its git blob id and, for an LFS file, its
SHA-256, which the downloaded bytes are checked against before anything is uploaded.

Downloads go through ``hf_hub_download`` into the Hugging Face cache (``--cache-dir``, else the
library's default, ``HF_HUB_CACHE``), which resumes an interrupted download and lets a rerun reuse
what it already has. ``HF_ENDPOINT`` is read when the command runs (the library reads it once, at
import), so a mirror set in the environment is honoured however the process started.

huggingface_hub is the ``stage`` extra: without it the command says how to install it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sagefit.core.errors import SagefitError

INSTALL_FIX = "pip install 'sagefit[stage]'"
COMMIT_SHA = re.compile(r"[0-9a-f]{40}")


@dataclass(frozen=True)
class HubFile:
    """One file of the repository at the pinned commit, as the Hub lists it."""

    path: str
    size: int
    blob_id: str
    """The git object id (``sha1("blob <size>\\0" + content)``) of the file, or of its LFS pointer."""
    sha256: str | None
    """The SHA-256 of an LFS file's content (hex); None for a file stored in git itself."""


@dataclass(frozen=True)
class HubRepo:
    """A repository pinned to one commit, with its root listing."""

    repo_id: str
    requested: str
    """The revision asked for (a branch, tag or sha)."""
    sha: str
    gated: bool
    files: tuple[HubFile, ...]

    def file(self, path: str) -> HubFile:
        return next(f for f in self.files if f.path == path)


def require_library() -> Any:
    try:
        import huggingface_hub
    except ImportError:
        raise SagefitError("`sagefit stage` needs the huggingface_hub package", INSTALL_FIX) from None
    return huggingface_hub


def _endpoint() -> str | None:
    value = os.environ.get("HF_ENDPOINT", "").strip()
    return value.rstrip("/") or None


class Hub:
    """One repository on the Hub, read with one token (or none)."""

    def __init__(self, repo_id: str, token: str | None, cache_dir: Path | None = None) -> None:
        self._hf = require_library()
        self.repo_id = repo_id
        self.endpoint = _endpoint()
        # token=False: no token at all, not the one a `hf auth login` saved; the run uses exactly the
        # token it announced (HF_TOKEN or the profile's secret).
        self._token: str | bool = token or False
        self._cache_dir = cache_dir
        self._api = self._hf.HfApi(endpoint=self.endpoint, token=self._token)

    @property
    def has_token(self) -> bool:
        return bool(self._token)

    def pin(self, revision: str | None) -> HubRepo:
        """Resolve ``revision`` (default ``main``) to its commit and list the files at the root."""
        requested = revision or "main"
        with self.errors(requested):
            info = self._api.model_info(self.repo_id, revision=requested)
            sha = str(info.sha or "")
            if not COMMIT_SHA.fullmatch(sha):
                raise SagefitError(
                    f"the Hub gave no commit for {self.repo_id}@{requested}",
                    "check HF_ENDPOINT points at the Hugging Face Hub",
                )
            entries = list(self._api.list_repo_tree(self.repo_id, revision=sha, recursive=True))
        files = tuple(
            HubFile(
                path=entry.path,
                size=int(entry.size),
                blob_id=str(entry.blob_id),
                sha256=str(entry.lfs.sha256) if entry.lfs is not None else None,
            )
            for entry in entries
            if isinstance(entry, self._hf.hf_api.RepoFile)
        )
        return HubRepo(self.repo_id, requested, sha, bool(info.gated), files)

    def download(self, repo: HubRepo, path: str) -> Path:
        """The file ``path`` at the pinned commit, in the local cache (downloaded when missing)."""
        with self.errors(repo.sha, path):
            local = self._hf.hf_hub_download(
                repo.repo_id,
                path,
                revision=repo.sha,
                cache_dir=self._cache_dir,
                token=self._token,
                endpoint=self.endpoint,
            )
        return Path(local)

    @contextmanager
    def errors(self, revision: str, path: str | None = None) -> Iterator[None]:
        """Every Hub failure as one line naming the repository, the revision or the file, and the fix."""
        hf_errors = self._hf.errors
        where = f"{self.repo_id}@{revision}" + (f" {path}" if path else "")
        try:
            yield
        except hf_errors.GatedRepoError:
            if not self.has_token:
                raise SagefitError(
                    f"{self.repo_id} is gated and no Hub token was given",
                    "set HF_TOKEN, or model.hf_token_secret to a Secrets Manager secret holding the token",
                ) from None
            raise SagefitError(
                f"the Hub token has no access to the gated {self.repo_id}",
                f"accept the model's terms at https://huggingface.co/{self.repo_id} with the token's account",
            ) from None
        except hf_errors.RevisionNotFoundError:
            raise SagefitError(
                f"no revision {revision!r} in {self.repo_id}",
                "set model.revision to a branch, tag or commit of the repository (or remove it for main)",
            ) from None
        except hf_errors.RemoteEntryNotFoundError:
            raise SagefitError(f"the Hub has no file {where}", "rerun; the listing and the files disagree") from None
        except hf_errors.RepositoryNotFoundError:
            raise SagefitError(
                f"no Hub model {self.repo_id} (or it is private and the token cannot see it)",
                "check model.hf_model_id, or give a token that can read it (HF_TOKEN)",
            ) from None
        except hf_errors.OfflineModeIsEnabled:
            raise SagefitError("HF_HUB_OFFLINE is set, so the Hub cannot be read", "unset HF_HUB_OFFLINE") from None
        except hf_errors.HfHubHTTPError as exc:
            status = getattr(getattr(exc, "response", None), "status_code", "?")
            raise SagefitError(f"the Hub answered HTTP {status} for {where}", "retry in a few minutes") from None
        except SagefitError:
            raise
        except hf_errors.LocalEntryNotFoundError:
            raise SagefitError(
                f"cannot reach the Hub at {self.endpoint or 'https://huggingface.co'} for {where}",
                "check the network (a proxy needs HTTPS_PROXY), or HF_ENDPOINT",
            ) from None
        except OSError as exc:
            if exc.errno is None:  # the library's own checks: a short download, a response without metadata
                first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                raise SagefitError(f"downloading {where} failed: {first}", "rerun (the download resumes)") from None
            # httpx's transport errors are not OSError; a full disk or an unwritable cache is.
            raise SagefitError(
                f"cannot write {where} to the Hugging Face cache ({exc.strerror})",
                "free disk space, or pass --cache-dir on a larger disk",
            ) from None
        except Exception as exc:
            if type(exc).__module__.startswith("httpx"):
                raise SagefitError(
                    f"cannot reach the Hub at {self.endpoint or 'https://huggingface.co'} ({type(exc).__name__})",
                    "check the network (a proxy needs HTTPS_PROXY), or HF_ENDPOINT",
                ) from None
            raise
