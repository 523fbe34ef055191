"""A small client of the instrument server's HTTP API, shared by the AiiDA transport and scheduler.

The API is documented in :mod:`aiida_bigmap_al.instrument_bridge.server.app`, and its paths,
bodies and file names are defined in :mod:`.protocol`; this module only speaks it, with
``requests``. It knows nothing of AiiDA, but it is written for the AiiDA side, so every failure is
an :class:`OSError` subclass that says what went wrong in terms AiiDA acts on:

* the server cannot be reached (connection refused, timeout): :class:`InstrumentUnreachable`, a
  ``ConnectionError``. AiiDA's transport tasks retry on any exception with exponential back-off,
  so a lab PC that is rebooting only delays the job;
* the token is missing or wrong (401): :class:`InstrumentAuthError`, a ``PermissionError``. The
  transport raises its subclass ``InstrumentTokenError`` instead, which AiiDA does not retry:
  it pauses the CalcJob at once (see :mod:`.transport`);
* a path or workspace name is refused (400, 403): :class:`InstrumentPathRefused`;
* no such workspace, file or job (404): :class:`InstrumentNotFound`, a ``FileNotFoundError``;
* a conflict with a job's state (409): :class:`InstrumentConflict`;
* a request that does not validate on the rig (422): :class:`InstrumentRequestRejected`.

The token is sent as a bearer token and never appears in a message, a ``repr`` or a log line.

File paths are checked here too, before any URL is built: ``requests`` (urllib3) removes ``.``
and ``..`` segments from URLs, so ``files/../../jobs`` would silently address another endpoint.
Structural problems (absolute paths, empty, ``.`` or ``..`` components) are therefore refused on
this side; the server checks the rest (backslashes, NUL, symbolic links) and answers 400/403.
"""

from __future__ import annotations

import os
import pathlib
import re
import typing as t
import urllib.parse

import requests

from . import protocol as api
from .protocol import REQUEST_FILE, JobSubmission, api_path

__all__ = [
    "InstrumentAuthError",
    "InstrumentClient",
    "InstrumentConflict",
    "InstrumentError",
    "InstrumentNotFound",
    "InstrumentPathRefused",
    "InstrumentRequestRejected",
    "InstrumentServerError",
    "InstrumentUnreachable",
    "check_file_path",
    "check_url",
    "load_token",
]

#: Seconds to wait for a TCP connection: short, an unreachable lab PC should fail fast and be retried.
_CONNECT_TIMEOUT = 5.0
_CHUNK = 1 << 16


class InstrumentError(OSError):
    """An instrument server did not do what was asked; ``status`` is the HTTP status (None: no answer)."""

    def __init__(self, message: str, status: int | None = None, detail: str = ""):
        super().__init__(message)
        self.status = status
        self.detail = detail or message

    def __str__(self) -> str:
        return str(self.args[0])


class InstrumentUnreachable(InstrumentError, ConnectionError):
    """No answer from the server: connection refused, reset or timed out. Transient: retry later."""


class InstrumentAuthError(InstrumentError, PermissionError):
    """The server refused the bearer token (401), or no token could be read on this side."""


class InstrumentPathRefused(InstrumentError, PermissionError):
    """A path or workspace name that is not allowed, e.g. one that leaves its workspace (400/403)."""


class InstrumentNotFound(InstrumentError, FileNotFoundError):
    """No such workspace, file or job (404)."""


class InstrumentConflict(InstrumentError):
    """The request conflicts with a job's state (409), e.g. writing to the workspace of a queued job."""


class InstrumentRequestRejected(InstrumentError):
    """A measurement request that does not validate on the rig (422); ``detail`` names the field."""


class InstrumentServerError(InstrumentError):
    """Any other error answer (e.g. 413 upload too large, 5xx)."""


_ERRORS: dict[int, type[InstrumentError]] = {
    400: InstrumentPathRefused,
    401: InstrumentAuthError,
    403: InstrumentPathRefused,
    404: InstrumentNotFound,
    409: InstrumentConflict,
    422: InstrumentRequestRejected,
}


def check_url(url: str) -> str:
    """The server's base URL without a trailing slash; ``ValueError`` unless it is an http(s) URL."""
    parsed = urllib.parse.urlsplit(str(url).strip())
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ValueError(f"instrument server URL must look like http://HOST:PORT, got {url!r}")
    if parsed.query or parsed.fragment or parsed.username or parsed.password:
        raise ValueError(f"instrument server URL {url!r} must not carry a query, fragment or credentials")
    return urllib.parse.urlunsplit((parsed.scheme, parsed.netloc, parsed.path.rstrip("/"), "", ""))


def load_token(token_env: str | None = None, token_file: str | os.PathLike | None = None) -> str:
    """The bearer token, from ``token_file`` if given, else from the environment variable ``token_env``.

    A file is the robust choice for the AiiDA daemon, whose workers see the environment of the
    shell that started it, not of the one that submits. Errors name the source, never the token.
    """
    if token_file:
        path = pathlib.Path(token_file).expanduser()
        try:
            token = path.read_text(encoding="utf-8").strip()
        except OSError as error:
            raise InstrumentAuthError(
                f"cannot read the instrument token file {str(path)!r}: {error.strerror}") from None
        if not token:
            raise InstrumentAuthError(f"the instrument token file {str(path)!r} is empty")
        return token
    if token_env:
        token = os.environ.get(token_env, "").strip()
        if not token:
            raise InstrumentAuthError(
                f"the environment variable {token_env!r} that should hold the instrument token is not set in this "
                f"process (for the AiiDA daemon: set it before `verdi daemon start`, or use a token file)"
            )
        return token
    raise InstrumentAuthError(
        "no instrument token configured: give a token file or the name of an environment variable")


def check_file_path(path: str) -> str:
    """A workspace-relative file path, ``/``-separated; ``InstrumentPathRefused`` if it could leave the workspace."""
    if not path or path.startswith("/"):
        raise InstrumentPathRefused(f"file path {path!r} must be relative to its workspace and not empty", status=None)
    parts = path.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise InstrumentPathRefused(
            f"file path {path!r} has an empty, '.' or '..' component: it could leave its workspace", status=None
        )
    return path


class InstrumentClient:
    """One instrument server, reached with one ``requests`` session and a bearer token."""

    def __init__(self, url: str, token: str, timeout: float = 30.0, ca_bundle: str | os.PathLike | None = None):
        """``ca_bundle``: a PEM file of the certificate(s) to trust for an ``https://`` server (a rig's own,
        self-signed one); without it the system's trusted authorities verify the server."""
        self.url = check_url(url)
        self.timeout = (_CONNECT_TIMEOUT, float(timeout))
        self._session = requests.Session()
        self._session.headers[api.AUTH_HEADER] = f"{api.AUTH_SCHEME} {token}"
        # given with every request: a Session's own ``verify`` loses to REQUESTS_CA_BUNDLE in the environment
        self._verify: str | bool = str(pathlib.Path(ca_bundle).expanduser()) if ca_bundle else True

    def __repr__(self) -> str:
        return f"InstrumentClient({self.url!r})"

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> InstrumentClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- plumbing ---------------------------------------------------------------------------

    def _request(self, method: str, path: str, what: str, **kwargs: t.Any) -> requests.Response:
        """Send one request; return the response if it succeeded, else raise the matching error."""
        try:
            response = self._session.request(method, f"{self.url}{path}", timeout=self.timeout, verify=self._verify,
                                             **kwargs)
        except (requests.ConnectionError, requests.Timeout) as error:
            raise InstrumentUnreachable(
                f"{what}: the instrument server at {self.url} is not reachable ({_reason(error)})") from None
        if response.ok:
            return response
        detail = _detail(response)
        response.close()
        error_class = _ERRORS.get(response.status_code, InstrumentServerError)
        raise error_class(f"{what}: the instrument server at {self.url} answered {response.status_code}: {detail}",
                          status=response.status_code, detail=detail)

    @staticmethod
    def _workspace(name: str) -> str:
        return api_path(api.WORKSPACE_PATH, workspace=name)

    @staticmethod
    def _file(workspace: str, path: str) -> str:
        return api_path(api.FILE_PATH, workspace=workspace, path=check_file_path(path))

    # --- server -----------------------------------------------------------------------------

    def health(self) -> dict[str, t.Any]:
        """``{"status": "ok", "instrument": name}``; needs no token."""
        return self._request("GET", api.HEALTH_PATH, "health check").json()

    def methods(self) -> dict[str, t.Any]:
        """The rig's methods with their parameters (needs a valid token: a cheap check of both)."""
        return self._request("GET", api.METHODS_PATH, "list methods").json()

    # --- workspaces and files ---------------------------------------------------------------

    def workspaces(self) -> list[dict[str, t.Any]]:
        """Every workspace of the server: ``[{"workspace", "created_at": ISO|None, "job_id": str|None}]``, by name."""
        return self._request("GET", api.WORKSPACES_PATH, "list workspaces").json()

    def ensure_workspace(self, name: str) -> dict[str, t.Any]:
        """Create workspace ``name`` if missing: ``{"workspace", "created", "job_id"}``."""
        return self._request("PUT", self._workspace(name), f"create workspace {name!r}").json()

    def workspace(self, name: str) -> dict[str, t.Any]:
        """``{"workspace", "job_id", "files": [{"path", "size", "mtime"}]}``; ``InstrumentNotFound`` if missing."""
        return self._request("GET", self._workspace(name), f"read workspace {name!r}").json()

    def delete_workspace(self, name: str) -> None:
        self._request("DELETE", self._workspace(name), f"delete workspace {name!r}")

    def upload(self, workspace: str, path: str, source: pathlib.Path) -> None:
        """Upload the local file ``source`` to ``path`` in ``workspace`` (streamed, replaces the file)."""
        with open(source, "rb") as handle:
            self._request("PUT", self._file(workspace, path), f"upload {path!r} to workspace {workspace!r}",
                          data=handle)

    def download(self, workspace: str, path: str, target: pathlib.Path) -> None:
        """Download ``path`` of ``workspace`` to the local file ``target`` (streamed, written atomically)."""
        response = self._request("GET", self._file(workspace, path), f"download {path!r} of workspace {workspace!r}",
                                 stream=True)
        partial = target.with_name(f".{target.name}.partial")
        try:
            with response, open(partial, "wb") as handle:
                for chunk in response.iter_content(_CHUNK):
                    handle.write(chunk)
            partial.replace(target)
        finally:
            partial.unlink(missing_ok=True)

    def delete_file(self, workspace: str, path: str) -> None:
        self._request("DELETE", self._file(workspace, path), f"delete {path!r} of workspace {workspace!r}")

    # --- jobs -------------------------------------------------------------------------------

    def submit(self, workspace: str, request_file: str = REQUEST_FILE) -> tuple[dict[str, t.Any], bool]:
        """Queue the request file of ``workspace`` as a job: ``(job, created)``.

        ``created`` is False when the same request was already submitted from that workspace: the
        server then returns the existing job instead of measuring twice, so a retried submission
        (e.g. after a lost answer) is safe.
        """
        body = JobSubmission(workspace=workspace, request_file=check_file_path(request_file))
        response = self._request("POST", api.JOBS_PATH, f"submit {request_file!r} of workspace {workspace!r}",
                                 json=body.model_dump(exclude_none=True))
        return response.json(), response.status_code == 201

    def job(self, job_id: str) -> dict[str, t.Any]:
        return self._request("GET", api_path(api.JOB_PATH, job_id=job_id), f"read job {job_id!r}").json()

    def jobs(self, state: str | None = None) -> list[dict[str, t.Any]]:
        params = {"state": state} if state else None
        return self._request("GET", api.JOBS_PATH, "list jobs", params=params).json()

    def cancel(self, job_id: str) -> dict[str, t.Any]:
        """Cancel a job: a queued job is cancelled at once, a running one at its next device command."""
        return self._request("POST", api_path(api.CANCEL_PATH, job_id=job_id), f"cancel job {job_id!r}").json()


def _reason(error: requests.RequestException) -> str:
    """The operating system's words for a connection failure (urllib3 wraps them in three layers)."""
    if isinstance(error, requests.Timeout):
        return f"no answer in time: {error}"
    if isinstance(error, requests.exceptions.SSLError):
        match = re.search(r"\[SSL[^\]]*\] ([^(']+)", str(error))
        return (f"TLS: {match.group(1).strip() if match else error}; give the CA bundle that signed the server's "
                f"certificate (bigmap-al instrument register --ca-bundle)")
    match = re.search(r"\[Errno -?\d+\] [^\"'()]+", str(error))
    return match.group(0).strip() if match else str(error)


def _detail(response: requests.Response) -> str:
    """The server's ``detail`` message, or the start of the body for anything else."""
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        detail = None
    if isinstance(detail, str):
        return detail
    return response.text[:300] if detail is None else str(detail)
