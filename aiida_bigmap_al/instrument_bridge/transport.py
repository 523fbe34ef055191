"""``bigmap.instrument`` transport: the files of AiiDA jobs, kept in an instrument server's workspaces.

An instrument server (``bigmap-al instrument serve``) offers no file system and no shell: it
keeps one *workspace* per job, a flat name holding files, and runs a job from the request file in
it (see :mod:`aiida_bigmap_al.instrument_bridge.server.app`). This transport lets AiiDA's engine
upload a CalcJob's files to such a workspace and retrieve the results, over HTTP, in the pattern
of aiida-firecrest (a ``BlockingTransport`` over a REST API). It runs no commands: the scheduler
plugin of the same name submits the request file instead of a script.

Remote paths
------------
The computer's work directory is ``/``. AiiDA puts each job in
``<workdir>/<uuid[:2]>/<uuid[2:4]>/<uuid[4:]>``, so:

* ``/`` and the two *shard* levels below it (``/ab``, ``/ab/cd``) are directories that always
  exist; creating them does nothing, and they cannot be listed or removed;
* the third level is a workspace: ``/ab/cd/ef01-...`` is the workspace ``abcdef01-...``, the
  calculation's UUID, the name the server's documentation proposes;
* deeper paths are files of that workspace (``/ab/cd/ef01-.../<file>``). Directories inside
  a workspace exist through the files in them (the server stores files, not empty directories);
* a file directly in the work directory (``/name``) is kept in the workspace
  :data:`WORKDIR_WORKSPACE`. AiiDA's engine puts nothing there, but ``verdi computer test``
  checks that it can create, read back and delete a temporary file in the work directory; with
  this, the check passes on an instrument computer. A name at that level that is no such file is
  a shard directory, as before.

A path with a ``..`` component is refused (``PermissionError``) before any request is sent:
it is never normalised here, so no path can step from one workspace into another, and the server
checks every path again. Relative paths are taken relative to ``/``, the transport's only
working directory.

Configuration (``verdi computer configure bigmap.instrument`` or ``bigmap-al instrument register``)
-------------------------------------------------------------------------------------------------------
The computer's *hostname* is the server's base URL (``http://127.0.0.1:8765``). The
authentication parameters say where the bearer token comes from: ``token_file`` (a file holding
it; preferred for the daemon) or else ``token_env`` (an environment variable of the process that
opens the transport, i.e. of the daemon workers); ``timeout`` is the HTTP read timeout in seconds;
``ca_bundle`` a PEM file of the certificate(s) that verify an ``https://`` server (empty: the
system's trusted authorities). The token is read when the transport opens and never printed.

Failures
--------
Opening checks that the server answers and accepts the token (``GET /methods``). A server that
cannot be reached raises :class:`~.client.InstrumentUnreachable`; AiiDA's transport tasks retry
any exception with exponential back-off (``transport.task_retry_initial_interval``,
``transport.task_maximum_attempts``) and pause the process after the last attempt, to be
played again once the lab PC is back. Every other failure is an ``OSError`` subclass from
:mod:`.client` that names the path and the server's answer, except one:

A token that is missing on this side (no file, empty file, unset variable) or refused by the
server (401; 403 as well when opening, where no path is involved, e.g. from a proxy) raises
:class:`InstrumentTokenError`, whose message names the computer, the server's URL and the token's
source (never the token), and says how to fix it (``bigmap-al instrument register NAME URL
--token-file F``, then ``verdi process play PK``). Retrying cannot fix a wrong token, so this
error is made for AiiDA's engine to act on at once. What the engine offers (aiida-core 2.x,
``engine/processes/calcjobs/tasks.py``): every transport task (upload, submit, update, retrieve)
runs in ``exponential_backoff_retry``, which retries *any* exception except those listed in
``ignore_exceptions``: ``plumpy``'s ``Interruption`` (pause, kill) and cancellation.
``PreSubmitException`` is only raised around ``CalcJob.presubmit`` and an ``ExitCode`` only comes
back from ``Scheduler.submit_job``, both after the transport is open, so there is no way for a
transport to make a CalcJob *fail* without the back-off. The choices were therefore: (a) the
back-off, then pause (what an unreachable server gets: minutes later, with the cause buried in
the traceback of the retries); or (b) pause at once. :class:`InstrumentTokenError` is also a
``PauseInterruption``, so the engine passes it through the retry loop and pauses the CalcJob at
once with the error's message as its process status (``verdi process list``/``show``; the daemon
log has it as well). Pausing rather than failing is what an AiiDA user expects of a transport
problem that needs a person: the calculation is sound and keeps its place in the campaign, and,
above all, a token refused while a measurement is queued or running on the rig must not abandon
that measurement; once the token is fixed, ``verdi process play`` carries on where it stopped.
Outside the engine (``verdi computer test``, :func:`~.register.check_connection`, scripts) the
error is an ordinary :class:`~.client.InstrumentAuthError` (a ``PermissionError``) raised when
the transport opens, before anything else is sent; it is logged as well, so that ``verdi computer
test`` shows it without ``--print-traceback``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import fnmatch
import logging
import os
import pathlib
import stat
import tempfile
import typing as t

from aiida.common.exceptions import InvalidOperation
from aiida.transports.transport import BlockingTransport, TransportInternalError, TransportPath, has_magic
from aiida.transports.util import FileAttribute
from plumpy.process_comms import MessageBuilder
from plumpy.process_states import PauseInterruption

from .client import (
    InstrumentAuthError,
    InstrumentClient,
    InstrumentError,
    InstrumentNotFound,
    InstrumentPathRefused,
    check_url,
    load_token,
)
from .register import PLUGIN

__all__ = ["SHARD_DEPTH", "WORKDIR_WORKSPACE", "InstrumentTokenError", "InstrumentTransport", "RemotePath"]

#: Path components above a workspace: AiiDA's ``<uuid[:2]>/<uuid[2:4]>`` sharding of job directories.
SHARD_DEPTH = 2
#: The workspace that holds the files put directly in the work directory ``/`` (``verdi computer test``'s
#: temporary file). Never the name of a job's workspace: those are calculation UUIDs (hex digits and dashes).
WORKDIR_WORKSPACE = "aiida-workdir"
_NO_COMMANDS = "the bigmap.instrument transport runs no commands on the instrument server"


class InstrumentTokenError(InstrumentAuthError, PauseInterruption):
    """No token the server accepts: none could be read here, or the server refused it (401/403).

    An :class:`~.client.InstrumentAuthError` for every caller, and a ``PauseInterruption`` for
    AiiDA's engine, whose transport tasks retry every exception but an interruption: the CalcJob
    is paused at once, with this message as its status, instead of after minutes of futile
    retries (see the module docstring for why pausing, not failing).
    """

    def __init__(self, message: str, status: int | None = None, detail: str = ""):
        super().__init__(message, status=status, detail=detail)
        self.msg = MessageBuilder.pause(text=message)  # what plumpy pauses the process with


class _TransportClient(InstrumentClient):
    """The transport's HTTP client: a refused token, at any request, becomes :class:`InstrumentTokenError`."""

    def __init__(self, url: str, token: str, timeout: float, refused: t.Callable[[InstrumentError], Exception],
                 ca_bundle: str | None = None):
        super().__init__(url, token, timeout, ca_bundle=ca_bundle)
        self._refused = refused

    def _request(self, method: str, path: str, what: str, **kwargs: t.Any):
        try:
            return super()._request(method, path, what, **kwargs)
        except InstrumentAuthError as error:
            raise self._refused(error) from None


def _computer_labels(url: str, token_file: str | None, token_env: str | None) -> list[str]:
    """Labels of the instrument computers at ``url`` whose token comes from the same source, for messages.

    Best effort: without a loaded profile (a script using the transport alone) there are none.
    """
    try:
        from aiida.orm import AuthInfo, Computer, QueryBuilder

        query = QueryBuilder().append(Computer, filters={"hostname": url, "transport_type": PLUGIN}, tag="computer",
                                      project="label")
        query.append(AuthInfo, with_computer="computer", project="auth_params")
        rows = query.all()
    except Exception:  # no profile loaded, storage unavailable: the message then names the URL only
        return []
    source = ("token_file", token_file) if token_file else ("token_env", token_env)
    return sorted({label for label, params in rows if (params.get(source[0]) or None) == source[1]})


@dataclasses.dataclass(frozen=True)
class RemotePath:
    """An absolute remote path split into components, and what it means on the server."""

    parts: tuple[str, ...]

    @classmethod
    def parse(cls, path: TransportPath) -> RemotePath:
        """Split ``path`` (relative paths start at ``/``); ``..`` anywhere is refused, ``.`` and ``//`` dropped."""
        text = os.fspath(path)
        parts = tuple(part for part in text.split("/") if part not in ("", "."))
        if ".." in parts:
            raise InstrumentPathRefused(
                f"path {text!r} has a '..' component: paths on an instrument server cannot leave their workspace")
        return cls(parts)

    def __str__(self) -> str:
        return "/" + "/".join(self.parts)

    def __fspath__(self) -> str:
        return str(self)

    @property
    def is_shard(self) -> bool:
        """``/`` or a sharding directory above the workspaces."""
        return len(self.parts) <= SHARD_DEPTH

    @property
    def workspace(self) -> str:
        """The workspace this path lies in (the joined first three components)."""
        if self.is_shard:
            raise InstrumentPathRefused(
                f"{self} lies above the workspaces (a job's directory is /<ab>/<cd>/<rest of uuid>)")
        return "".join(self.parts[: SHARD_DEPTH + 1])

    @property
    def relpath(self) -> str:
        """The path inside the workspace (``""`` for the workspace itself)."""
        return "/".join(self.parts[SHARD_DEPTH + 1:])

    def file(self) -> str:
        """The path inside the workspace of something that must be a file."""
        if not self.relpath:
            raise IsADirectoryError(errno.EISDIR, "a workspace is a directory, not a file", str(self))
        return self.relpath

    @property
    def in_workdir(self) -> bool:
        """A name directly in the work directory ``/``: a shard directory, or a file in :data:`WORKDIR_WORKSPACE`."""
        return len(self.parts) == 1

    def file_at(self) -> tuple[str, str]:
        """``(workspace, path in it)`` of the file this path names (directly in ``/``: in :data:`WORKDIR_WORKSPACE`)."""
        if self.in_workdir:
            return WORKDIR_WORKSPACE, self.parts[0]
        return self.workspace, self.file()

    def child(self, name: str) -> RemotePath:
        return RemotePath((*self.parts, *name.split("/")))


class InstrumentTransport(BlockingTransport):
    """Files of AiiDA jobs in an instrument server's workspaces, over HTTP; runs no commands."""

    _valid_auth_options = [
        ("token_file", {
            "type": str,
            "prompt": "File holding the bearer token (empty: use the environment variable)",
            "help": "A file that holds the instrument server's bearer token; wins over token_env.",
            "default": "",
            "non_interactive_default": True,
        }),
        ("token_env", {
            "type": str,
            "prompt": "Environment variable holding the bearer token",
            "help": "Name of an environment variable (of the daemon's processes) holding the token.",
            "default": "BIGMAP_RIG_TOKEN",
            "non_interactive_default": True,
        }),
        ("timeout", {
            "type": float,
            "prompt": "HTTP read timeout (s)",
            "help": "Seconds to wait for an answer of the instrument server.",
            "default": 30.0,
            "non_interactive_default": True,
        }),
        ("ca_bundle", {
            "type": str,
            "prompt": "CA bundle verifying an https server (empty: the system's)",
            "help": "PEM file of the certificate(s) to trust for an https:// server, e.g. its self-signed one.",
            "default": "",
            "non_interactive_default": True,
        }),
    ]
    # HTTP requests are cheap; a short cool-down still lets jobs polled together share one open.
    _DEFAULT_SAFE_OPEN_INTERVAL = 0.5
    # Lab jobs take minutes; polling the queue every few seconds is plenty and costs the lab PC nothing.
    DEFAULT_MINIMUM_JOB_POLL_INTERVAL = 2.0

    def __init__(self, *args: t.Any, token_file: str | None = None, token_env: str | None = None,
                 timeout: float = 30.0, ca_bundle: str | None = None, **kwargs: t.Any):
        super().__init__(*args, **kwargs)
        self.url = check_url(kwargs.get("machine") or "")
        self._token_file = token_file or None
        self._token_env = token_env or None
        self._timeout = float(timeout)
        self._ca_bundle = ca_bundle or None
        self._client: InstrumentClient | None = None

    def __str__(self) -> str:
        return f"bigmap.instrument [{self.url}]"

    # --- connection ---------------------------------------------------------------------------

    def open(self) -> InstrumentTransport:
        """Read the token and check that the server answers and accepts it (``GET /methods``).

        A missing or refused token raises :class:`InstrumentTokenError` at once (see the module docstring).
        """
        if self._is_open:
            raise InvalidOperation("Cannot open the transport twice")
        try:
            token = load_token(self._token_env, self._token_file)
        except InstrumentAuthError as error:
            raise self._token_error(f"no bearer token for the instrument server at {self.url}: {error}") from None
        client = _TransportClient(self.url, token, self._timeout, refused=self._refused, ca_bundle=self._ca_bundle)
        try:
            client.methods()
        except InstrumentPathRefused as error:  # 403 to GET /methods: no path involved, so it is the token
            client.close()
            raise self._refused(error) from None
        except BaseException:
            client.close()
            raise
        self._client = client
        self._is_open = True
        return self

    def _token_source(self) -> str:
        if self._token_file:
            return f"read from the token file {self._token_file}"
        return f"from the environment variable ${self._token_env}"

    def _refused(self, error: InstrumentError) -> InstrumentTokenError:
        """The error for a token the server refused (``error``: the client's, with the server's answer)."""
        problem = (f"the instrument server at {self.url} refused the bearer token {self._token_source()} "
                   f"({error.status}: {error.detail})")
        return self._token_error(problem, status=error.status, detail=error.detail)

    def _token_error(self, problem: str, status: int | None = None, detail: str = "") -> InstrumentTokenError:
        """``problem``, then which computer it concerns and how to fix it."""
        labels = _computer_labels(self.url, self._token_file, self._token_env)
        computers = f"{'Computer' if len(labels) == 1 else 'Computers'} {', '.join(f'`{label}`' for label in labels)}"
        name = labels[0] if len(labels) == 1 else "NAME"
        error = InstrumentTokenError(
            f"{problem}. {computers if labels else 'The computer'} cannot reach the instrument without a token the "
            f"server accepts (retrying cannot help): put the server's token (`token`/`token_env` of its rig "
            f"configuration) in a file and run `bigmap-al instrument register {name} {self.url} --token-file FILE`; "
            f"calculations paused by this error then continue with `verdi process play PK`.",
            status=status, detail=detail)
        self.logger.error(str(error))  # shown by `verdi computer test` even without --print-traceback
        return error

    def close(self) -> None:
        if not self._is_open:
            raise InvalidOperation("Cannot close the transport: it is already closed")
        if self._client is not None:
            self._client.close()
        self._client = None
        self._is_open = False

    @property
    def client(self) -> InstrumentClient:
        """The HTTP client of the open transport (the scheduler plugin uses it too)."""
        if self._client is None:
            raise TransportInternalError("the bigmap.instrument transport is not open")
        return self._client

    def whoami(self) -> str:
        """The instrument's name: there are no user accounts on an instrument server."""
        return self.client.health()["instrument"]

    def getcwd(self) -> str:
        """Always ``/``: the transport has no working directory to change."""
        return "/"

    def normalize(self, path: TransportPath = ".") -> str:
        return str(RemotePath.parse(path))

    def workspace_of(self, path: TransportPath) -> str:
        """The workspace that is the job directory ``path`` (``/ab/cd/rest`` -> ``abcdrest``)."""
        remote = RemotePath.parse(path)
        if remote.relpath:
            raise InstrumentPathRefused(f"{remote} is inside a workspace, not a job's directory")
        return remote.workspace

    # --- what is where -----------------------------------------------------------------------

    def _files(self, remote: RemotePath) -> list[dict[str, t.Any]] | None:
        """The files of the workspace of ``remote`` (None if the workspace does not exist)."""
        return self._workspace_files(remote.workspace)

    def _workspace_files(self, workspace: str) -> list[dict[str, t.Any]] | None:
        try:
            return self.client.workspace(workspace)["files"]
        except InstrumentNotFound:
            return None

    def _workdir_entry(self, remote: RemotePath) -> dict[str, t.Any] | None:
        """The file entry of ``remote`` if it is a file of the work directory itself, else None."""
        if not remote.in_workdir:
            return None
        workspace, name = remote.file_at()
        return next((entry for entry in self._workspace_files(workspace) or [] if entry["path"] == name), None)

    def _kind(self, remote: RemotePath) -> str | None:
        """``"dir"``, ``"file"`` or None (nothing there)."""
        if remote.is_shard:
            return "file" if self._workdir_entry(remote) is not None else "dir"
        files = self._files(remote)
        if files is None:
            return None
        if not remote.relpath:
            return "dir"
        if any(entry["path"] == remote.relpath for entry in files):
            return "file"
        prefix = remote.relpath + "/"
        return "dir" if any(entry["path"].startswith(prefix) for entry in files) else None

    def _files_under(self, remote: RemotePath) -> list[str]:
        """Workspace-relative paths of the files below the directory ``remote``."""
        files = self._files(remote)
        if files is None:
            raise FileNotFoundError(errno.ENOENT, "no such workspace on the instrument server", str(remote))
        prefix = remote.relpath + "/" if remote.relpath else ""
        return [entry["path"] for entry in files if entry["path"].startswith(prefix)]

    def path_exists(self, path: TransportPath) -> bool:
        return self._kind(RemotePath.parse(path)) is not None

    def isdir(self, path: TransportPath) -> bool:
        return self._kind(RemotePath.parse(path)) == "dir"

    def isfile(self, path: TransportPath) -> bool:
        return self._kind(RemotePath.parse(path)) == "file"

    def listdir(self, path: TransportPath = ".", pattern: str | None = None) -> list[str]:
        """Names in a workspace directory; the shard levels are not listed (see ``client.workspaces()``)."""
        remote = RemotePath.parse(path)
        if remote.is_shard:
            raise PermissionError(errno.EACCES, "the levels above the workspaces are not listed "
                                  "(GET /workspaces lists the workspaces)", str(remote))
        if self._kind(remote) != "dir":
            raise FileNotFoundError(errno.ENOENT, "no such directory on the instrument server", str(remote))
        skip = len(remote.relpath) + 1 if remote.relpath else 0
        names = sorted({entry[skip:].split("/", 1)[0] for entry in self._files_under(remote)})
        return fnmatch.filter(names, pattern) if pattern else names

    def get_attribute(self, path: TransportPath) -> FileAttribute:
        """Size, modification time and a nominal mode (the server has no owners or permissions)."""
        remote = RemotePath.parse(path)
        kind = self._kind(remote)
        if kind is None:
            raise FileNotFoundError(errno.ENOENT, "no such file on the instrument server", str(remote))
        if remote.in_workdir:
            entry = self._workdir_entry(remote)
        else:
            entry = next((e for e in self._files(remote) or [] if e["path"] == remote.relpath), None)
        size, mtime = (entry["size"], entry["mtime"]) if entry else (0, None)
        mode = (stat.S_IFREG | 0o644) if kind == "file" else (stat.S_IFDIR | 0o755)
        return FileAttribute({"st_size": size, "st_uid": None, "st_gid": None, "st_mode": mode,
                              "st_atime": mtime, "st_mtime": mtime})

    # --- creating and removing ---------------------------------------------------------------

    def mkdir(self, path: TransportPath, ignore_existing: bool = False) -> None:
        """Create a workspace; shard levels and sub-directories need no creating.

        A workspace that exists *without a job* is reused: it is named after the calculation's
        UUID, so it is what an interrupted upload of this very calculation left behind, and the
        engine's retry simply uploads again. One that a job owns raises ``FileExistsError``.
        """
        remote = RemotePath.parse(path)
        if remote.is_shard:
            return
        if remote.relpath:
            if self._kind(RemotePath(remote.parts[: SHARD_DEPTH + 1])) is None:
                raise FileNotFoundError(errno.ENOENT, "no such workspace on the instrument server", str(remote))
            return
        info = self.client.ensure_workspace(remote.workspace)
        if not info["created"] and info["job_id"] is not None and not ignore_existing:
            raise FileExistsError(errno.EEXIST, f"the workspace belongs to job {info['job_id']}", str(remote))

    def makedirs(self, path: TransportPath, ignore_existing: bool = False) -> None:
        """Create the workspace that ``path`` lies in, if needed (everything else is implicit)."""
        remote = RemotePath.parse(path)
        if remote.is_shard:
            return
        if self._kind(remote) == "file":
            raise FileExistsError(errno.EEXIST, "a file of that name exists", str(remote))
        self.mkdir(RemotePath(remote.parts[: SHARD_DEPTH + 1]), ignore_existing=True)

    def remove(self, path: TransportPath) -> None:
        self.client.delete_file(*RemotePath.parse(path).file_at())

    def rmdir(self, path: TransportPath) -> None:
        """Remove an empty workspace (sub-directories vanish with their last file)."""
        remote = RemotePath.parse(path)
        if self._files_under(remote):
            raise OSError(errno.ENOTEMPTY, "directory not empty", str(remote))
        if not remote.relpath:
            self.client.delete_workspace(remote.workspace)

    def rmtree(self, path: TransportPath) -> None:
        """Remove a workspace, a directory or a file in it; nothing there is not an error (like ``rm -rf``)."""
        remote = RemotePath.parse(path)
        kind = self._kind(remote)
        if kind is None:
            return
        if kind == "file":
            self.client.delete_file(*remote.file_at())
        elif not remote.relpath:
            self.client.delete_workspace(remote.workspace)
        else:
            for name in self._files_under(remote):
                self.client.delete_file(remote.workspace, name)

    # --- moving files in and out -------------------------------------------------------------

    def putfile(self, localpath: TransportPath, remotepath: TransportPath, *args: t.Any, **kwargs: t.Any) -> None:
        """Upload one local file (absolute path) to a file of a workspace, replacing it unless ``overwrite=False``."""
        local = _local(localpath, must_exist=True)
        remote = RemotePath.parse(remotepath)
        workspace, path = remote.file_at()
        exists = self._kind(remote) == "file" if remote.in_workdir else self.path_exists(remote)
        if exists and not kwargs.get("overwrite", True):
            raise FileExistsError(errno.EEXIST, "destination exists and overwrite is False", str(remote))
        if remote.in_workdir:
            self.client.ensure_workspace(workspace)
        self.client.upload(workspace, path, local)

    def puttree(self, localpath: TransportPath, remotepath: TransportPath, *args: t.Any, **kwargs: t.Any) -> None:
        """Upload the contents of a local directory into ``remotepath`` (creating the workspace if it is the target)."""
        local = _local(localpath, must_exist=True)
        if not local.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, "not a directory", str(local))
        remote = RemotePath.parse(remotepath)
        if not remote.relpath:
            self.mkdir(remote, ignore_existing=True)
        for file in sorted(p for p in local.rglob("*") if p.is_file()):
            self.client.upload(remote.workspace, remote.child(file.relative_to(local).as_posix()).file(), file)

    def put(self, localpath: TransportPath, remotepath: TransportPath, *args: t.Any, **kwargs: t.Any) -> None:
        """Upload a file or a directory; a file put onto a directory lands inside it."""
        local = _local(localpath)
        if has_magic(str(local)):
            raise ValueError(f"wildcards are not supported in local paths: {local}")
        if local.is_dir():
            self.puttree(local, remotepath, **kwargs)
        elif local.is_file():
            remote = RemotePath.parse(remotepath)
            if self.isdir(remote):
                remote = remote.child(local.name)
            self.putfile(local, remote, **kwargs)
        elif not kwargs.get("ignore_nonexisting", False):
            raise FileNotFoundError(errno.ENOENT, "local path does not exist", str(local))

    def getfile(self, remotepath: TransportPath, localpath: TransportPath, *args: t.Any, **kwargs: t.Any) -> None:
        """Download one file of a workspace to a local file (absolute path)."""
        self.client.download(*RemotePath.parse(remotepath).file_at(), _local(localpath))

    def gettree(self, remotepath: TransportPath, localpath: TransportPath, *args: t.Any, **kwargs: t.Any) -> None:
        """Download everything below a workspace directory into a local directory."""
        remote = RemotePath.parse(remotepath)
        local = _local(localpath)
        skip = len(remote.relpath) + 1 if remote.relpath else 0
        names = self._files_under(remote)
        local.mkdir(parents=True, exist_ok=True)
        for name in names:
            target = local / name[skip:]
            target.parent.mkdir(parents=True, exist_ok=True)
            self.client.download(remote.workspace, name, target)

    def get(self, remotepath: TransportPath, localpath: TransportPath, *args: t.Any, **kwargs: t.Any) -> None:
        """Download a file or a directory; with ``ignore_nonexisting=True`` a missing one is skipped."""
        remote = RemotePath.parse(remotepath)
        local = _local(localpath)
        kind = self._kind(remote)
        if kind == "dir":
            self.gettree(remote, local)
        elif kind == "file":
            self.getfile(remote, local / remote.parts[-1] if local.is_dir() else local)
        elif not kwargs.get("ignore_nonexisting", False):
            raise FileNotFoundError(errno.ENOENT, "no such file or directory on the instrument server", str(remote))

    # --- copies on the server (through this machine: the API has no server-side copy) ---------

    def copyfile(self, remotesource: TransportPath, remotedestination: TransportPath,
                 dereference: bool = False) -> None:
        with tempfile.TemporaryDirectory() as scratch:
            local = pathlib.Path(scratch) / "file"
            self.getfile(remotesource, local)
            self.putfile(local, remotedestination)

    def copytree(self, remotesource: TransportPath, remotedestination: TransportPath,
                 dereference: bool = False) -> None:
        with tempfile.TemporaryDirectory() as scratch:
            self.gettree(remotesource, scratch)
            self.puttree(scratch, remotedestination)

    def copy(self, remotesource: TransportPath, remotedestination: TransportPath, dereference: bool = False,
             recursive: bool = True) -> None:
        kind = self._kind(RemotePath.parse(remotesource))
        if kind is None:
            raise FileNotFoundError(errno.ENOENT, "nothing of that name on the instrument server", str(remotesource))
        if kind == "file":
            self.copyfile(remotesource, remotedestination)
        elif recursive:
            self.copytree(remotesource, remotedestination)
        else:
            raise IsADirectoryError(errno.EISDIR, "a directory needs recursive=True", str(remotesource))

    def rename(self, oldpath: TransportPath, newpath: TransportPath) -> None:
        """Copy, then remove the original (a job's workspace cannot be renamed: it is read-only)."""
        if self.path_exists(newpath):
            raise FileExistsError(errno.EEXIST, "destination exists", str(newpath))
        self.copy(oldpath, newpath)
        self.rmtree(oldpath)

    # --- what an instrument server does not have ---------------------------------------------

    def chmod(self, path: TransportPath, mode: int) -> None:
        raise OSError(errno.ENOTSUP, "an instrument server keeps no file permissions", str(path))

    def symlink(self, remotesource: TransportPath, remotedestination: TransportPath) -> None:
        raise OSError(errno.ENOTSUP, "an instrument server refuses symbolic links", str(remotedestination))

    def gotocomputer_command(self, remotedir: TransportPath | None = None) -> str:
        raise NotImplementedError(f"{_NO_COMMANDS}; look at a workspace with GET {self.url}/workspaces/<name>")

    def _exec_command_internal(self, command: str, workdir: TransportPath | None = None, **kwargs: t.Any):
        raise NotImplementedError(f"{_NO_COMMANDS} (asked for {command!r})")

    def exec_command_wait_bytes(self, command: str, stdin: t.Any = None, workdir: TransportPath | None = None,
                                **kwargs: t.Any) -> tuple[int, bytes, bytes]:
        """Refuse with ``NotImplementedError``: AiiDA's sign of a transport without commands (as FirecREST's).

        ``verdi computer test`` then skips its shell check, and ``RemoteData.get_size_on_disk``
        falls back to file sizes, instead of reporting a failed command.
        """
        raise NotImplementedError(f"{_NO_COMMANDS} (asked for {command!r})")


def _local(path: TransportPath, must_exist: bool = False) -> pathlib.Path:
    """A local path, which must be absolute (the engine always gives absolute ones)."""
    local = pathlib.Path(os.fspath(path))
    if not local.is_absolute():
        raise ValueError(f"local paths must be absolute, got {str(local)!r}")
    if must_exist and not local.exists():
        raise FileNotFoundError(errno.ENOENT, "local path does not exist", str(local))
    return local


@contextlib.contextmanager
def silenced(logger: logging.Logger):
    """Without ``logger``'s records: the transport logs a refused token for ``verdi computer test``;
    a command that reports the refusal itself would print the long message twice."""
    disabled, logger.disabled = logger.disabled, True
    try:
        yield
    finally:
        logger.disabled = disabled
