"""The embedded profile and ``bigmap-al setup``, each in a fresh process with its own ``AIIDA_PATH``.

AiiDA chooses its configuration once per process (the pytest process already runs on the
fixtures' temporary profile), so these tests start new interpreters: exactly what a user does.
None of them touches ``~/.aiida`` or the repository's ``.aiida/``.
"""

import hashlib
import json
import os
import pathlib
import subprocess
import sys
import textwrap

import pytest

from aiida_bigmap_al.profile import repository_root

BIN = pathlib.Path(sys.executable).absolute().parent


def _env(**variables: str) -> dict[str, str]:
    """This environment without any AiiDA configuration choice, plus ``variables``."""
    env = {key: value for key, value in os.environ.items() if key not in ("AIIDA_PATH", "AIIDA_PROFILE")}
    return {**env, **variables}


def _python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True, text=True, timeout=120
    )


def _setup(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([BIN / "bigmap-al", "setup"], env=env, capture_output=True, text=True, timeout=120)


def _digest(config_dir: pathlib.Path) -> dict[str, str]:
    """Hashes of the configuration file and every storage file, to see whether anything changed.

    (AiiDA's own run-time bookkeeping, such as ``access/<profile>/<pid>.pid``, is left out.)
    """
    files = [config_dir / "config.json", *(config_dir / "repository").rglob("*")]
    return {
        str(path.relative_to(config_dir)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in files
        if path.is_file()
    }


ENSURE_ENVIRONMENT = """
    import json, os, sys
    from aiida_bigmap_al import profile
    root = profile.ensure_environment()
    print(json.dumps({"returned": root and str(root), "AIIDA_PATH": os.environ.get("AIIDA_PATH"),
                      "aiida_imported": "aiida" in sys.modules}))
"""


def test_repository_root():
    root = repository_root()
    assert root.is_absolute()
    assert (root / "pyproject.toml").is_file()
    assert (root / "aiida_bigmap_al" / "profile.py").is_file()


def test_ensure_environment_falls_back_to_repository():
    """With no AIIDA_PATH or AIIDA_PROFILE, the repository root becomes AIIDA_PATH, without importing AiiDA."""
    process = _python(ENSURE_ENVIRONMENT, _env())
    assert process.returncode == 0, process.stderr
    assert json.loads(process.stdout) == {
        "returned": str(repository_root()),
        "AIIDA_PATH": str(repository_root()),
        "aiida_imported": False,
    }


@pytest.mark.parametrize(
    ("variables", "expected_path"),
    [({"AIIDA_PATH": "/somewhere/else"}, "/somewhere/else"), ({"AIIDA_PROFILE": "mine"}, None)],
)
def test_ensure_environment_respects_the_environment(variables, expected_path):
    """An AIIDA_PATH or AIIDA_PROFILE already set wins: nothing is changed."""
    process = _python(ENSURE_ENVIRONMENT, _env(**variables))
    assert process.returncode == 0, process.stderr
    assert json.loads(process.stdout) == {"returned": None, "AIIDA_PATH": expected_path, "aiida_imported": False}


def test_ensure_embedded_profile_creates_a_working_profile(tmp_path):
    """A presto-style profile (SQLite, ZeroMQ, default user, localhost) that stores nodes; created once."""
    process = _python(
        """
        import json
        from aiida_bigmap_al import profile
        first = profile.ensure_embedded_profile()
        again = profile.ensure_embedded_profile()
        loaded = profile.load()
        from aiida import orm
        from aiida.manage.configuration import get_config
        localhost = orm.Computer.collection.get(label="localhost")
        node = orm.Int(42).store()
        print(json.dumps({
            "names": [first.name, again.name, loaded.name],
            "profiles": get_config().profile_names,
            "default": get_config().default_profile_name,
            "storage": loaded.storage_backend,
            "broker": loaded.process_control_backend,
            "user": orm.User.collection.get_default().email,
            "computer": [localhost.transport_type, localhost.scheduler_type, localhost.is_configured],
            "stored": orm.load_node(node.pk).value,
        }))
        """,
        _env(AIIDA_PATH=str(tmp_path / "config"), HOME=str(tmp_path / "home")),
    )
    assert process.returncode == 0, process.stderr
    report = json.loads(process.stdout)
    assert report == {
        "names": ["bigmap-al"] * 3,
        "profiles": ["bigmap-al"],
        "default": "bigmap-al",
        "storage": "core.sqlite_dos",
        "broker": "core.zeromq",
        "user": report["user"],
        "computer": ["core.local", "core.direct", True],
        "stored": 42,
    }
    assert "@" in report["user"]
    assert (tmp_path / "config" / ".aiida" / "repository" / "bigmap-al").is_dir()
    assert not (tmp_path / "home").exists()  # the user's ~/.aiida is never created


def test_setup_is_idempotent(tmp_path):
    """``bigmap-al setup`` creates profile, computer and code; a second run reports them and changes nothing."""
    env = _env(AIIDA_PATH=str(tmp_path))
    first = _setup(env)
    assert first.returncode == 0, first.stderr
    assert "profile `bigmap-al`: created" in first.stdout
    assert "computer `localhost`: created (core.local, core.direct" in first.stdout
    assert f"code `bigmap-sim@localhost`: created ({BIN / 'bigmap-sim'})" in first.stdout

    before = _digest(tmp_path / ".aiida")
    second = _setup(env)
    assert second.returncode == 0, second.stderr
    assert "profile `bigmap-al`: loaded" in second.stdout
    assert "computer `localhost`: already exists" in second.stdout
    assert "code `bigmap-sim@localhost`: already exists" in second.stdout
    assert "created" not in second.stdout
    assert _digest(tmp_path / ".aiida") == before


def test_setup_refuses_an_unknown_profile(tmp_path):
    """AIIDA_PROFILE naming a profile that does not exist is an error that names it, not a new profile."""
    process = _setup(_env(AIIDA_PATH=str(tmp_path), AIIDA_PROFILE="no-such-profile"))
    assert process.returncode != 0
    assert "'no-such-profile'" in process.stderr
    assert "does not exist" in process.stderr
    assert not (tmp_path / ".aiida" / "repository").exists()
