#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# memqosd's D-Bus API and memqosctl against this machine's real cgroup v1
# memory controller, on a private bus with the system bus's policy and
# memqos's own policy file (units/org.memqos1.conf): memqosd --no-systemd
# on [Group] rules, memqosctl list/show/kill-order/metrics (JSON checked by
# python's parser), writes refused to nobody, reads open to nobody.
#
#   test-api.sh MEMQOSD MEMQOSCTL SRCDIR
#
# Exit 0 pass, 1 fail, 77 skip (no root / no v1 memory hierarchy / no dbus-daemon).
set -uo pipefail

# shellcheck source=tests/host/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

memqosd=$1
ctl=$2
srcdir=$3
require_root_and_v1
command -v dbus-daemon >/dev/null || { echo "skip: no dbus-daemon"; exit 77; }
command -v setpriv >/dev/null || { echo "skip: no setpriv"; exit 77; }

top=memqos-test-$$-api
root=$v1/$top
work=$(mktemp -d /tmp/memqos-test-api.XXXXXX)
chmod 755 "$work"
log=$work/memqosd.log
daemon= daemon2= bus_pid= batch_pid= web_pid=

cleanup() {
        [[ -n $daemon ]] && kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null
        [[ -n $daemon2 ]] && kill "$daemon2" 2>/dev/null && wait "$daemon2" 2>/dev/null
        [[ -n $bus_pid ]] && kill "$bus_pid" 2>/dev/null
        remove_tree "$root"
        rm -rf "$work"
}
trap cleanup EXIT

fail() {
        echo "FAIL: $*"
        echo "--- memqosd output (last 30 lines):"
        tail -n 30 "$log" 2>/dev/null
        exit 1
}

start_private_system_bus "$work" "$srcdir/units/org.memqos1.conf" || fail "the private bus did not start"
bus_pid=$private_bus_pid

mkdir -p "$root/batch/a" "$root/web"
cat >"$work/memqos.conf" <<CONF
[Group /$top/batch/*]
MemoryPriority=1
[Group /$top/web]
MemoryPriority=10
CONF
run_in "$root/batch/a" sleep 300 &
run_in "$root/web" sleep 300 &
wait_for 10 grep -q . "$root/batch/a/cgroup.procs" || fail "no process in batch/a"
wait_for 10 grep -q . "$root/web/cgroup.procs" || fail "no process in web"
batch_pid=$(head -n 1 "$root/batch/a/cgroup.procs")
web_pid=$(head -n 1 "$root/web/cgroup.procs")

"$memqosd" --no-systemd --log-target=stderr --config="$work/memqos.conf" --state-dir="$work/state" 2>"$log" &
daemon=$!
wait_for 10 grep -q "started:" "$log" || fail "memqosd did not start"
wait_for 10 "$ctl" status >/dev/null 2>&1 || fail "memqosctl status does not answer"

# list: a table, and JSON a parser reads
"$ctl" list --no-pager --no-legend >"$work/list" || fail "memqosctl list failed"
grep -q "^/$top/web  *group  *active  *10 " "$work/list" || { cat "$work/list"; fail "list: web with priority 10 missing"; }
grep -q "^/$top/batch/a  *group  *active  *1 " "$work/list" || { cat "$work/list"; fail "list: batch/a missing"; }
"$ctl" list --json=short | python3 -c "
import json, sys
units = {u['unit']: u for u in json.load(sys.stdin)}
web, a = units['/$top/web'], units['/$top/batch/a']
assert web['priority'] == 10 and web['kind'] == 'group' and web['active'] == 'active', web
assert a['priority'] == 1 and a['usage_bytes'] is not None and a['usage_bytes'] > 0, a
" || fail "list --json=short: not the units and priorities expected"
"$ctl" list --json=pretty | python3 -c 'import json, sys; json.load(sys.stdin)' || fail "list --json=pretty is no JSON"

# show, by name (a group's name is its cgroup path)
"$ctl" show "/$top/web" >"$work/show" || fail "memqosctl show failed"
grep -q "^MemoryPriority=10$" "$work/show" || { cat "$work/show"; fail "show: MemoryPriority=10 missing"; }
grep -q "^Kind=group$" "$work/show" || fail "show: Kind=group missing"
"$ctl" show --json=pretty "/$top/web" | python3 -c "
import json, sys
u = json.load(sys.stdin)
assert u['MemoryPriority'] == 10, u
assert [k for k in u['Knobs'] if k['key'] == 'MemoryPriority'][0]['desired'] == 10, u['Knobs']
" || fail "show --json: not the unit expected"
"$ctl" show /no/such/group >/dev/null 2>&1
[[ $? -eq 4 ]] || fail "show of an unknown unit does not exit 4"

# kill-order of the unfollowed parent: batch/a (priority 1), the very
# processes the kill would take; nothing killed. web (10) is the highest
# priority in use: the pre-emptive kill never takes it (the kernel's OOM
# killer decides there, at the limit), so it is not listed.
"$ctl" kill-order --no-pager "/$top" >"$work/order" || fail "memqosctl kill-order failed"
awk 'NR==2 {print $2, $5}' "$work/order" | grep -q "^/$top/batch/a $batch_pid$" ||
        { cat "$work/order"; fail "kill-order: batch/a's sleep is not first"; }
grep -q "^ *[0-9]\+ \+/$top/web " "$work/order" && { cat "$work/order"; fail "kill-order lists web, the highest priority in use"; }
"$ctl" kill-order --json=short "/$top" | python3 -c "
import json, sys
o = json.load(sys.stdin)
leaves = [l['cgroup'] for l in o['leaves']]
assert leaves == ['/$top/batch/a'], leaves
assert o['leaves'][0]['processes'][0]['pid'] == $batch_pid, o
assert o['leaves'][0]['branch'] == '/$top/batch' and o['leaves'][0]['branch_priority'] == 0, o
" || fail "kill-order --json: not batch/a alone"
kill -0 "$batch_pid" "$web_pid" || fail "a dry run killed"

# Reads are open to every user; writes need root.
setpriv --reuid=nobody --regid=nogroup --clear-groups "$ctl" list --no-legend >/dev/null 2>"$work/nobody-list" ||
        fail "nobody cannot list: $(cat "$work/nobody-list")"
setpriv --reuid=nobody --regid=nogroup --clear-groups "$ctl" set x.slice MemoryPriority=3 2>"$work/denied"
rc=$?
[[ $rc -eq 3 ]] && grep -q "Only root" "$work/denied" || fail "set as nobody exited $rc, not 3 (denied): $(cat "$work/denied")"
setpriv --reuid=nobody --regid=nogroup --clear-groups busctl call org.memqos1 /org/memqos1 \
        org.memqos1.Manager Reload 2>"$work/denied" && fail "Reload as nobody was not refused"
grep -qi "access denied" "$work/denied" || fail "Reload as nobody: not refused: $(cat "$work/denied")"
# As root, --no-systemd: groups are set in memqos.conf, said so.
"$ctl" set x.slice MemoryPriority=3 2>"$work/nosd"
rc=$?
[[ $rc -eq 2 ]] && grep -q "no-systemd" "$work/nosd" || fail "set with --no-systemd exited $rc: $(cat "$work/nosd")"
busctl call org.memqos1 /org/memqos1 org.memqos1.Manager Reload || fail "Reload as root failed"

# busctl sees the objects
busctl introspect org.memqos1 /org/memqos1 | grep -q "\.KillOrder" || fail "introspect: no KillOrder"
busctl tree org.memqos1 | grep -q "/org/memqos1/unit/" || fail "busctl tree: no unit objects"

# metrics, also as one HTTP request
"$ctl" metrics >"$work/metrics" || fail "memqosctl metrics failed"
grep -q "^memqos_priority{unit=\"/$top/web\",kind=\"group\"} 10$" "$work/metrics" ||
        fail "metrics: no priority 10 of web"
grep -q '^memqos_build_info{' "$work/metrics" || fail "metrics: no build_info"
printf 'GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n' | "$ctl" metrics --http >"$work/http"
head -n 1 "$work/http" | grep -q "^HTTP/1.1 200 OK" || fail "metrics --http: $(head -n 1 "$work/http")"
grep -q "^memqos_usage_bytes{unit=\"/$top/batch/a\"" "$work/http" || fail "metrics --http: no usage of batch/a"
printf 'GET /other HTTP/1.1\r\n\r\n' | "$ctl" metrics --http | head -n 1 | grep -q " 404 " ||
        fail "metrics --http: another path is not 404"

# A second memqosd cannot take the name: it warns and runs on.
printf '[Group /%s/web]\nMemoryPriority=10\n' "$top" >"$work/memqos2.conf"
"$memqosd" --no-systemd --log-target=stderr --config="$work/memqos2.conf" --state-dir="$work/state2" \
        2>"$work/memqosd2.log" &
daemon2=$!
wait_for 10 grep -q "started:" "$work/memqosd2.log" || fail "a memqosd without the bus name did not start"
wait_for 10 grep -q "Cannot take the bus name org.memqos1" "$work/memqosd2.log" ||
        { tail -n 5 "$work/memqosd2.log"; fail "the second memqosd did not say it has no bus name"; }
kill "$daemon2" && wait "$daemon2"
daemon2=

# The state files carry usage; at the stop they are marked stale.
state=$work/state/groups/${top//-/\\x2d}-web
grep -q "^USAGE_BYTES=[0-9]" "$state" || fail "state file without usage: $(cat "$state")"
kill "$daemon" && wait "$daemon"
daemon=
grep -q "^ACTIVE=no$" "$state" || fail "state file not marked stopped"
grep -q "^STOPPED_AT=2" "$state" || fail "state file without STOPPED_AT"
echo "PASS"
