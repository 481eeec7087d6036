#!/bin/bash
# layouts: v1 v2
# kernels: stock (how systemd names and re-announces units; 30 checks the kernel's files)
# memqosd survives systemd re-executing itself and the system bus going away:
# it reconnects, subscribes again and resynchronises, and keeps following
# units (a drop-in edited afterwards still comes into force).
. "$MEMQOS_VM_LIB"
. "$MEMQOS_VM_DIR/core.sh"

cleanup() {
        systemctl stop offline.slice 2>/dev/null || true
        rm -rf /etc/systemd/system/offline.slice.d
        systemctl daemon-reload
}
trap cleanup EXIT

install_dropin offline.slice 50-memqos.conf <<'CONF'
[X-MemQoS]
MemoryPriority=3
CONF
systemctl daemon-reload
start_memqosd
systemctl start offline.slice
assert_knob offline.slice MEMORY_PRIORITY memory.priority 3
pid=$(systemctl show -P MainPID memqosd)

step "systemctl daemon-reexec"
systemctl daemon-reexec
sed -i 's/MemoryPriority=3/MemoryPriority=4/' /etc/systemd/system/offline.slice.d/50-memqos.conf
systemctl daemon-reload
assert_knob offline.slice MEMORY_PRIORITY memory.priority 4
assert_eq "$pid" "$(systemctl show -P MainPID memqosd)" "memqosd's pid"

step "the system bus restarts"
systemctl restart dbus.service
reconnected() {
        journalctl -b -q -u memqosd -o cat | grep -q "Connected to the system bus again"
}
wait_until 30 reconnected
sed -i 's/MemoryPriority=4/MemoryPriority=5/' /etc/systemd/system/offline.slice.d/50-memqos.conf
systemctl daemon-reload
assert_knob offline.slice MEMORY_PRIORITY memory.priority 5
assert_eq "$pid" "$(systemctl show -P MainPID memqosd)" "memqosd's pid"
assert_unit_state memqosd.service ActiveState=active SubState=running
