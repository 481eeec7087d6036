#!/bin/bash
# layouts: v1 v2
# Scopes that come and go with thresholds: memqosd's watches are released
# with their cgroups (no fd growth over 100 start/stop cycles).
. "$MEMQOS_VM_LIB"
. "$MEMQOS_VM_DIR/core.sh"

cleanup() {
        rm -rf /etc/systemd/system/cycle-.scope.d
        systemctl daemon-reload
}
trap cleanup EXIT

install_dropin cycle-.scope 50-memqos.conf <<'CONF'
[X-MemQoS]
MemoryPriority=3
MemoryThresholds=16M 32M
CONF
systemctl daemon-reload
start_memqosd
pid=$(systemctl show -P MainPID memqosd)

run_cycles() {
        for i in $(seq "$1" "$2"); do
                systemd-run --quiet --scope --unit="cycle-$i" --slice=offline.slice true
        done
        # memqosd hears of each scope's end asynchronously
        wait_until 30 test -z "$(ls "$MEMQOS_STATE" | grep '^cycle-')"
}

run_cycles 1 10
fds_before=$(ls /proc/$pid/fd | wc -l)
run_cycles 11 110
fds_after=$(ls /proc/$pid/fd | wc -l)
echo "memqosd fds: $fds_before before, $fds_after after 100 cycles"
assert_eq "$fds_before" "$fds_after" "memqosd's open fds after 100 scope cycles"
assert_eq "$pid" "$(systemctl show -P MainPID memqosd)" "memqosd's pid (no restart)"
