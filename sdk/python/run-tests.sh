#!/usr/bin/env bash
# Runs the Python SDK's tests against a real `tollgate serve` (TOLLGATE_BIN, default: the cached
# debug build) and a local fault-injecting server. Creates its virtualenv on first use and
# reinstalls only when pyproject.toml changes. Extra arguments go to pytest.
# TOLLGATE_TEST_OAUTH=1 also runs the OAuth tests against the server's /oauth/token.
set -euo pipefail
# A relative path is the caller's, not this folder's.
[ -z "${TOLLGATE_SDK_WHEELHOUSE:-}" ] || TOLLGATE_SDK_WHEELHOUSE=$(realpath -m "$TOLLGATE_SDK_WHEELHOUSE")
cd "$(dirname "$0")"

export TOLLGATE_BIN="${TOLLGATE_BIN:-$HOME/.cache/tollgate/target/debug/tollgate}"
if [ ! -x "$TOLLGATE_BIN" ]; then
  echo "error: no tollgate binary at $TOLLGATE_BIN; build it (cargo build -p tollgate) or set TOLLGATE_BIN" >&2
  exit 1
fi

python="${PYTHON:-python3}"
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "error: $python is older than Python 3.11" >&2
  exit 1
fi
# Debian ships venv/ensurepip separately from python3.
if ! "$python" -c 'import venv, ensurepip' 2>/dev/null; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    echo "installing python3-venv from Debian packages" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
  else
    echo "error: $python has no venv/ensurepip module; install python3-venv" >&2
    exit 1
  fi
fi

# TOLLGATE_SDK_WHEELHOUSE=dir (the built wheel and its dependencies' wheels, scripts/package):
# the suite runs against the wheel installed offline (--no-index) into a fresh virtualenv, not
# against this folder.
if [ -n "${TOLLGATE_SDK_WHEELHOUSE:-}" ]; then
  venv=$(mktemp -d "${TMPDIR:-/tmp}/tollgate-py-venv.XXXXXX")
  trap 'rm -rf "$venv"' EXIT
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-index \
    --find-links "$TOLLGATE_SDK_WHEELHOUSE" tollgate
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "pytest>=8"
  if ! "$venv/bin/python" -c 'import sys, tollgate; sys.exit("site-packages" not in tollgate.__file__)'; then
    echo "error: tollgate is not imported from the installed wheel" >&2
    exit 1
  fi
  set +e
  "$venv/bin/python" -m pytest -q -rs "$@"
  rc=$?
  set -e
  [ "$rc" -ne 5 ] || { echo "error: pytest collected no tests" >&2; exit 1; }
  exit "$rc"
fi

venv="${TOLLGATE_CACHE:-$HOME/.cache/tollgate}/py-venv"
stamp="$venv/.tollgate-sdk-pyproject"
if [ ! -x "$venv/bin/pytest" ] || ! cmp -s pyproject.toml "$stamp"; then
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e ".[test]"
  cp pyproject.toml "$stamp"
fi
# The editable install points at whichever checkout made the venv: make it this one.
if ! "$venv/bin/python" -c 'import sys, tollgate; sys.exit(not tollgate.__file__.startswith(sys.argv[1]))' "$PWD/src/"; then
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -e .
fi

set +e
"$venv/bin/python" -m pytest -q -rs "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "error: pytest collected no tests" >&2
  exit 1
fi
exit "$rc"
