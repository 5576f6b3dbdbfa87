"""A local stand-in for the Hugging Face Hub's HTTP API: just what huggingface_hub 2.4 calls to stage.

Endpoints (read from huggingface_hub 2.4's hf_api.py and file_download.py):

- ``GET /api/models/{repo}/revision/{rev}`` (``HfApi.model_info``): ``{"id", "sha", "gated"}``
- ``GET /api/models/{repo}/tree/{rev}`` (``HfApi.list_repo_tree``): a JSON list of
  ``{"type": "file", "path", "size", "oid", "lfs": {"oid", "size", "pointerSize"}}``; no ``Link``
  header, so one page
- ``HEAD``/``GET /{repo}/resolve/{rev}/{path}`` (``hf_hub_download``): the bytes, with the headers
  ``get_hf_file_metadata`` reads: ``X-Repo-Commit``, ``ETag`` and, for LFS files, ``X-Linked-Etag``
  and ``X-Linked-Size``. No ``X-Xet-*`` headers, so the download is plain HTTP.

Errors carry ``X-Error-Code`` (``RepoNotFound``, ``RevisionNotFound``, ``GatedRepo``,
``EntryNotFound``), which ``hf_raise_for_status`` turns into the library's exception classes.
A gated repository answers the file requests with 401 unless a ``Bearer`` token is sent, as the Hub
does (its metadata stays public).
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

LFS_MIN_SIZE = 1024
"""Files this size or larger are listed as LFS files (the real Hub's threshold is 10 MB)."""


def git_blob_id(content: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


@dataclass
class FakeRepo:
    repo_id: str
    files: dict[str, bytes]
    sha: str = "a" * 40
    branches: dict[str, str] = field(default_factory=dict)
    gated: bool = False
    served: dict[str, bytes] = field(default_factory=dict)
    """Bytes served instead of ``files[path]`` (the listing keeps the real checksum): a corrupt download."""
    requests: list[tuple[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.branches.setdefault("main", self.sha)

    def resolve(self, revision: str) -> str | None:
        if revision == self.sha:
            return self.sha
        return self.branches.get(revision)

    def tree(self) -> list[dict[str, Any]]:
        entries = []
        for path, content in sorted(self.files.items()):
            entry: dict[str, Any] = {"type": "file", "path": path, "size": len(content), "oid": git_blob_id(content)}
            if len(content) >= LFS_MIN_SIZE:
                pointer = (
                    f"version https://git-lfs.github.com/spec/v1\noid sha256:{hashlib.sha256(content).hexdigest()}"
                )
                entry["oid"] = git_blob_id(pointer.encode())
                entry["lfs"] = {"oid": hashlib.sha256(content).hexdigest(), "size": len(content), "pointerSize": 130}
            entries.append(entry)
        return entries


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _error(self, status: int, code: str) -> None:
        self._send(status, json.dumps({"error": code}).encode(), {"X-Error-Code": code, "X-Error-Message": code})

    def _repo(self, repo_id: str) -> FakeRepo | None:
        return self.server.repos.get(repo_id)

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        api = re.fullmatch(r"/api/models/([^/]+/[^/]+)/(revision|tree)/([^/]+)", path)
        resolve = re.fullmatch(r"/([^/]+/[^/]+)/resolve/([^/]+)/(.+)", path)
        match = api or resolve
        if match is None:
            self._error(404, "RepoNotFound")
            return
        repo = self._repo(match.group(1))
        if repo is None:
            self._error(401, "RepoNotFound")
            return
        repo.requests.append((self.command, path))
        revision = api.group(3) if api else match.group(2)
        sha = repo.resolve(revision)
        if sha is None:
            self._error(404, "RevisionNotFound")
            return
        if api is not None and api.group(2) == "revision":
            body = {"id": repo.repo_id, "sha": sha, "gated": "manual" if repo.gated else False, "private": False}
            self._send(200, json.dumps(body).encode(), {"Content-Type": "application/json"})
        elif api is not None:
            self._send(200, json.dumps(repo.tree()).encode(), {"Content-Type": "application/json"})
        else:
            self._file(repo, sha, match.group(3))

    def _file(self, repo: FakeRepo, sha: str, name: str) -> None:
        if repo.gated and not self.headers.get("authorization", "").startswith("Bearer "):
            self._error(401, "GatedRepo")
            return
        if name not in repo.files:
            self._send(404, b"", {"X-Error-Code": "EntryNotFound", "X-Repo-Commit": sha})
            return
        content = repo.files[name]
        served = repo.served.get(name, content)
        headers = {"X-Repo-Commit": sha, "ETag": f'"{git_blob_id(content)}"'}
        if len(content) >= LFS_MIN_SIZE:
            headers["X-Linked-Etag"] = f'"{hashlib.sha256(content).hexdigest()}"'
            headers["X-Linked-Size"] = str(len(served))
        self._send(200, served, headers)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    repos: dict[str, FakeRepo]


@contextmanager
def hub_standin(*repos: FakeRepo) -> Iterator[str]:
    """Serve ``repos`` on 127.0.0.1 (a free port) for the ``with`` block; yields the endpoint URL."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.repos = {repo.repo_id: repo for repo in repos}
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
