"""Job workspaces: one directory per job under ``<data_dir>/workspaces``, and nothing outside it.

A client (the AiiDA transport) names files inside a workspace with relative paths. Every path is
checked before it is touched, because the server runs next to lab hardware and must not become a
way to read or overwrite other files:

* workspace names are plain names (``[A-Za-z0-9][A-Za-z0-9._-]{0,127}``), never paths;
* a file path must be relative, may use ``/`` for sub-directories, and must not contain ``..``,
  empty or ``.`` components, backslashes or NUL characters (400);
* no component of the path may be a symbolic link, and the resolved path must lie inside the
  workspace (403), so a link planted in a workspace cannot lead out of it.

When a workspace is created, its creation time is recorded in ``<root>/.created/<name>``: outside
every workspace (no client can overwrite it) and under a name that is no workspace name (it
starts with a dot). Linux keeps no creation time a program can read, and a directory's
modification time changes with every file added. A workspace made otherwise (by hand, or by a
server older than this record) has no creation time.

Quotas bound what clients can leave on the lab PC's disk: at most ``max_workspaces`` workspaces
and ``max_files`` files per workspace (the rig file's ``max_workspaces`` and
``max_files_per_workspace``); past them :class:`QuotaExceeded` (HTTP 507) says which and what to do.

A file is written to a hidden ``.partial`` file beside its target and renamed over it only when
complete (:meth:`Workspaces.upload`, :meth:`Workspaces.commit`), so nobody ever reads half a
file, and the caller can check, at the moment of the rename, that the file may still be written.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import re
import shutil
import threading
import uuid
from collections.abc import Iterator

from .jobs import utc_now

__all__ = ["NAME_PATTERN", "PathRefused", "QuotaExceeded", "WorkspaceNotFound", "Workspaces"]

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"
_NAME = re.compile(NAME_PATTERN)
#: Directory (under the root) of the creation times; its leading dot keeps it out of the workspace names.
_CREATED = ".created"


class PathRefused(ValueError):
    """A workspace name or file path that is not allowed; ``status`` is the HTTP status (400/403)."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


class WorkspaceNotFound(LookupError):
    """No workspace (or no file in it) of that name."""


class QuotaExceeded(RuntimeError):
    """Creating this workspace or file would pass a quota of the rig file (HTTP 507)."""


class Workspaces:
    """The workspaces under ``root``, at most ``max_workspaces`` of them, of at most ``max_files`` files each."""

    def __init__(self, root: str | pathlib.Path, max_workspaces: int = 10_000, max_files: int = 100):
        self.max_workspaces, self.max_files = max_workspaces, max_files
        self._quota_lock = threading.Lock()  # a count and the creation it allows are one step
        self.root = pathlib.Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._real_root = self.root.resolve()
        self._created = self.root / _CREATED
        self._created.mkdir(exist_ok=True)

    def _checked_name(self, name: str) -> str:
        if not _NAME.match(name) or name in (".", ".."):
            raise PathRefused(f"workspace name {name!r} is not allowed (expected {NAME_PATTERN})")
        return name

    def create(self, name: str | None = None) -> tuple[str, bool]:
        """Create workspace ``name`` (a fresh random one if None); returns ``(name, created)``."""
        name = self._checked_name(name) if name is not None else uuid.uuid4().hex
        path = self.root / name
        if path.is_symlink():
            raise PathRefused(f"workspace {name!r} is a symbolic link", status=403)
        with self._quota_lock:
            created = not path.exists()
            if created and len(self.names()) >= self.max_workspaces:
                raise QuotaExceeded(f"workspace quota reached: {self.max_workspaces} workspaces (max_workspaces in "
                                    f"the rig file); delete finished workspaces first")
            path.mkdir(exist_ok=True)
        if created:
            (self._created / name).write_text(utc_now())
        return name, created

    def names(self) -> list[str]:
        """The names of all workspaces, sorted (symbolic links and stray files are none)."""
        return sorted(entry.name for entry in self.root.iterdir()
                      if _NAME.match(entry.name) and entry.is_dir() and not entry.is_symlink())

    def created_at(self, name: str) -> str | None:
        """When workspace ``name`` was created (ISO 8601 UTC), or None if that was not recorded."""
        try:
            return (self._created / self._checked_name(name)).read_text().strip() or None
        except FileNotFoundError:
            return None

    def directory(self, name: str) -> pathlib.Path:
        """The directory of an existing workspace."""
        path = self.root / self._checked_name(name)
        if path.is_symlink():
            raise PathRefused(f"workspace {name!r} is a symbolic link", status=403)
        if not path.is_dir():
            raise WorkspaceNotFound(f"no workspace {name!r}")
        return path

    def exists(self, name: str) -> bool:
        try:
            self.directory(name)
        except WorkspaceNotFound:
            return False
        return True

    def resolve(self, name: str, relpath: str) -> pathlib.Path:
        """The path of ``relpath`` inside workspace ``name``, after every check (it may not exist)."""
        base = self.directory(name)
        parts = self._checked_parts(relpath)
        path = base
        for part in parts:
            path = path / part
            if path.is_symlink():
                raise PathRefused(f"path {relpath!r} goes through a symbolic link", status=403)
        if not path.resolve().is_relative_to(base.resolve()):
            raise PathRefused(f"path {relpath!r} leaves the workspace", status=403)
        return path

    @staticmethod
    def _checked_parts(relpath: str) -> list[str]:
        if not relpath or "\x00" in relpath or "\\" in relpath:
            raise PathRefused(f"file path {relpath!r} is empty or contains a backslash or NUL")
        if relpath.startswith("/") or pathlib.PurePath(relpath).is_absolute():
            raise PathRefused(f"file path {relpath!r} is absolute; give a path relative to the workspace")
        parts = relpath.split("/")
        if any(part in ("", ".", "..") for part in parts):
            raise PathRefused(f"file path {relpath!r} has an empty, '.' or '..' component")
        return parts

    def write(self, name: str, relpath: str, data: bytes) -> pathlib.Path:
        """Write a file (creating sub-directories), atomically, replacing any existing file."""
        with self.upload(name, relpath) as partial:
            partial.write_bytes(data)
            return self.commit(name, relpath, partial)

    @contextlib.contextmanager
    def upload(self, name: str, relpath: str) -> Iterator[pathlib.Path]:
        """A hidden temporary path beside ``relpath`` to write the new file to; removed unless committed."""
        path = self.resolve(name, relpath)
        if path.is_dir():
            raise PathRefused(f"{relpath!r} is a directory")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.resolve(name, relpath)  # the new directories are ours, but check again all the same
        partial = path.with_name(f".{path.name}.{uuid.uuid4().hex}.partial")
        try:
            yield partial
        finally:
            partial.unlink(missing_ok=True)

    def commit(self, name: str, relpath: str, partial: pathlib.Path) -> pathlib.Path:
        """Rename a complete ``partial`` file over ``relpath`` (the file quota is checked here)."""
        path = self.resolve(name, relpath)
        with self._quota_lock:
            if not path.is_file() and len(self.list(name)) >= self.max_files:
                raise QuotaExceeded(f"file quota reached: workspace {name!r} holds {self.max_files} files "
                                    f"(max_files_per_workspace in the rig file)")
            os.replace(partial, path)
        return path

    def file(self, name: str, relpath: str) -> pathlib.Path:
        """An existing regular file of the workspace."""
        path = self.resolve(name, relpath)
        if not path.is_file():
            raise WorkspaceNotFound(f"no file {relpath!r} in workspace {name!r}")
        return path

    def list(self, name: str) -> list[dict]:
        """Every regular file (recursively): ``{"path", "size", "mtime"}``, sorted by path."""
        base = self.directory(name)
        entries = []
        for path in sorted(base.rglob("*")):
            if path.is_symlink() or not path.is_file() or path.name.endswith(".partial"):
                continue
            stat = path.stat()
            entries.append({"path": path.relative_to(base).as_posix(), "size": stat.st_size, "mtime": stat.st_mtime})
        return entries

    def delete(self, name: str) -> None:
        """Remove a workspace and everything in it."""
        shutil.rmtree(self.directory(name))
        (self._created / name).unlink(missing_ok=True)
