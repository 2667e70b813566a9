#!/usr/bin/env bash
# Interop tests with third-party Python libraries (authlib, PyJWT) against a live server.
# Creates its own virtualenv from PyPI on first run.
set -euo pipefail
cd "$(dirname "$0")"
venv="${TOLLGATE_CACHE:-$HOME/.cache/tollgate}/interop-venv"
if [ ! -x "$venv/bin/pytest" ] || ! cmp -s requirements.txt "$venv/requirements.txt"; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r requirements.txt
  cp requirements.txt "$venv/requirements.txt"
fi
exec "$venv/bin/pytest" -q -p no:cacheprovider "$@"
