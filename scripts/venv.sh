# Sourced by the scripts: creates .venv at the repository root (once) and installs the project
# into it in editable mode with its test extra. Re-installs when pyproject.toml has changed.
VENV="$PWD/.venv"
PYTHON="${PYTHON:-python3}"
if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
fi
stamp="$VENV/.installed-pyproject"
if [ ! -f "$stamp" ] || ! cmp -s pyproject.toml "$stamp"; then
    "$VENV/bin/python" -m pip install --quiet -e ".[test]"
    cp pyproject.toml "$stamp"
fi
export PATH="$VENV/bin:$PATH"
