#!/usr/bin/env bash
# Checks the monitoring assets in deploy/:
#   promtool check rules   alerts.yml
#   promtool check config  prometheus.yml
#   promtool test rules    alerts_test.yml, one test group at a time so that the count is real
#   python3 -m json.tool and ../grafana/check.py on the Grafana dashboard (well-formed JSON,
#   only Tollgate's metric names, every expression parses)
# Installs Debian's `prometheus` package (for promtool) if promtool is missing, and makes sure
# the install leaves no Prometheus server running. Exits non-zero if anything fails; the last
# line is `promtool: N passed, M failed`, counting rule test groups.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"

need() { command -v "$1" >/dev/null 2>&1; }
apt_updated=""
apt_install() {
  need apt-get || { echo "error: $* missing and apt-get is not available" >&2; exit 1; }
  echo "installing $* from Debian packages" >&2
  [ -n "$apt_updated" ] || { apt-get update -qq || exit 1; apt_updated=1; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null || exit 1
}
# pids of running Prometheus servers and node exporters (exact process names, which the kernel
# cuts to 15 characters), one per line
server_pids() { { pgrep -x prometheus; pgrep -x prometheus-node; } 2>/dev/null | sort -u; }

if ! need promtool; then
  before="$(server_pids)"
  apt_install prometheus
  # The package's postinst may start prometheus.service (where systemd runs and no policy-rc.d
  # forbids it). A server is not what we came for: stop what the install started, nothing else.
  if [ -d /run/systemd/system ] && need systemctl; then
    systemctl stop prometheus.service >/dev/null 2>&1 || true
    systemctl disable prometheus.service >/dev/null 2>&1 || true
  fi
  for pid in $(server_pids); do
    if ! grep -qx "$pid" <<<"$before"; then
      echo "stopping the Prometheus process $pid that the package install started" >&2
      kill "$pid" 2>/dev/null || true
    fi
  done
  need promtool || { echo "error: promtool is still missing after installing prometheus" >&2; exit 1; }
fi

# A Python with PyYAML, to split the unit tests into their groups.
py=""
for cand in python3 /usr/bin/python3; do
  if "$cand" -c 'import yaml' 2>/dev/null; then py="$cand"; break; fi
done
if [ -z "$py" ]; then
  need /usr/bin/python3 || apt_install python3
  apt_install python3-yaml
  py=/usr/bin/python3
fi

failed=0
run() {
  echo "== $*"
  "$@" || { echo "!! failed: $*"; failed=1; }
}

promtool --version 2>&1 | head -1
run promtool check rules alerts.yml
run promtool check config prometheus.yml
run "$py" -m json.tool ../grafana/tollgate.json /dev/null
run "$py" ../grafana/check.py ../grafana/tollgate.json

# Rule unit tests: the whole file once (what a reader would run), then each test group alone
# to count passes and failures honestly.
run promtool test rules alerts_test.yml
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
if ! names="$("$py" - alerts_test.yml "$tmp" <<'EOF'
import os, sys, yaml
src, out = sys.argv[1], sys.argv[2]
doc = yaml.safe_load(open(src))
base = os.path.dirname(os.path.abspath(src))
doc["rule_files"] = [os.path.join(base, f) for f in doc["rule_files"]]
for i, test in enumerate(doc["tests"]):
    one = dict(doc, tests=[test])
    with open(os.path.join(out, "%03d.yml" % i), "w") as f:
        yaml.safe_dump(one, f, sort_keys=False)
    print("%03d %s" % (i, test.get("name", "test group %d" % i)))
EOF
)"; then
  echo "!! could not split alerts_test.yml into its test groups"
  echo "promtool: 0 passed, 1 failed"
  exit 1
fi
passed=0; nfailed=0
while read -r idx name; do
  [ -n "$idx" ] || continue
  if promtool test rules "$tmp/$idx.yml" >"$tmp/$idx.log" 2>&1; then
    passed=$((passed + 1)); echo "ok   $name"
  else
    nfailed=$((nfailed + 1)); echo "FAIL $name"; sed 's/^/     /' "$tmp/$idx.log"
  fi
done <<<"$names"
[ "$nfailed" -eq 0 ] || failed=1
[ "$passed" -gt 0 ] || { echo "!! no rule test group ran"; failed=1; }
echo "promtool: $passed passed, $nfailed failed"
exit "$failed"
