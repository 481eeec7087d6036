#!/bin/bash
# layouts: v1 v2
# kernels: stock
# Scopes that come and go with thresholds: memqosd's watches are released
# with their cgroups (no fd growth over 50 start/stop cycles; 1,000 cycles of the watch
# itself run on the host in tests/host/test-watch-host).
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

no_cycle_state() {
        ! ls "$MEMQOS_STATE" | grep -q '^cycle-'
}

run_cycles() {
        for i in $(seq "$1" "$2"); do
                systemd-run --quiet --scope --unit="cycle-$i" --slice=offline.slice true
        done
        # memqosd hears of each scope's end asynchronously
        wait_until 30 no_cycle_state
}

run_cycles 1 5
fds_before=$(ls /proc/$pid/fd | wc -l)
run_cycles 6 55
fds_after=$(ls /proc/$pid/fd | wc -l)
echo "memqosd fds: $fds_before before, $fds_after after 50 cycles"
# No growth. Fewer is fine: watches of units from earlier scenarios may be
# released meanwhile.
((fds_after <= fds_before)) ||
        fail "memqosd's open fds grew over 50 scope cycles" "before: $fds_before" "after:  $fds_after" \
             "$(ls -l /proc/$pid/fd)"
assert_eq "$pid" "$(systemctl show -P MainPID memqosd)" "memqosd's pid (no restart)"
