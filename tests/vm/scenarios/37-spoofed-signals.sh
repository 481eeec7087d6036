#!/bin/bash
# layouts: v1 v2
# kernels: stock
# Only systemd speaks for systemd: signals that another user sends to
# memqosd in systemd's name (the system bus lets anyone send a unicast
# signal) are ignored. A spoofed UnitRemoved does not make memqosd forget a
# unit, and a flood of spoofed JobRemoved for made-up units does not grow
# its unit table.
. "$MEMQOS_VM_LIB"
. "$MEMQOS_VM_DIR/core.sh"

# 50 made-up units: none may enter the table (each busctl costs ~0.2 s
# under TCG, so not more).
SPOOFS=50

cleanup() {
        systemctl stop offline.slice spoof-barrier.slice 2>/dev/null || true
        rm -rf /etc/systemd/system/offline.slice.d
        systemctl daemon-reload
}
trap cleanup EXIT

# as_nobody CMD...: CMD as uid/gid 65534, no supplementary groups.
as_nobody() {
        setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"
}

# The number of units memqosd follows, from its STATUS= (said at most a
# second after a change).
followed() {
        unit_prop memqosd.service StatusText | sed -n 's/^Following \([0-9]*\) unit.*/\1/p'
}

install_dropin offline.slice 50-memqos.conf <<'CONF'
[X-MemQoS]
MemoryPriority=3
CONF
systemctl daemon-reload
start_memqosd
systemctl start offline.slice
assert_knob offline.slice MEMORY_PRIORITY memory.priority 3
says_followed() { [[ -n $(followed) ]]; }
wait_until 20 says_followed
pid=$(systemctl show -P MainPID memqosd)
dest=$(busctl --system list --unique --no-legend | awk -v pid="$pid" '$2 == pid { print $1; exit }')
assert_match '^:[0-9]+\.[0-9]+$' "$dest" "memqosd's unique name on the bus"
before=$(followed)
step "memqosd at $dest follows $before units"

step "uid 65534 sends UnitRemoved(offline.slice) to memqosd"
as_nobody busctl --system emit --destination="$dest" /org/freedesktop/systemd1 \
        org.freedesktop.systemd1.Manager UnitRemoved so \
        offline.slice /org/freedesktop/systemd1/unit/offline_2eslice

step "uid 65534 sends $SPOOFS JobRemoved for made-up units"
for ((i = 0; i < SPOOFS; i++)); do
        as_nobody busctl --system emit --destination="$dest" /org/freedesktop/systemd1 \
                org.freedesktop.systemd1.Manager JobRemoved uoss \
                $((100000 + i)) /org/freedesktop/systemd1/job/$((100000 + i)) "spoof-$i.slice" done
done

step "a real unit started after the spoofs: memqosd has read them all when it follows it"
# Signals on one connection are handled in order.
install_dropin spoof-barrier.slice 50-memqos.conf <<'CONF'
[X-MemQoS]
MemoryPriority=4
CONF
systemctl daemon-reload
systemctl start spoof-barrier.slice
assert_knob spoof-barrier.slice MEMORY_PRIORITY memory.priority 4

step "offline.slice is still followed, with its policy"
assert_eq yes "$(state_get offline.slice ACTIVE)" "ACTIVE= of offline.slice"
assert_knob offline.slice MEMORY_PRIORITY memory.priority 3
sed -i 's/MemoryPriority=3/MemoryPriority=5/' /etc/systemd/system/offline.slice.d/50-memqos.conf
systemctl daemon-reload
assert_knob offline.slice MEMORY_PRIORITY memory.priority 5

step "the unit table did not grow by the spoofs (at most a few real units more than $before)"
sleep 2 # STATUS= is said a second after a change
n=$(followed)
((n <= before + 10)) || fail "units memqosd follows after $SPOOFS spoofed JobRemoved" \
        "expected: at most $((before + 10))" "seen:     $n"
assert_eq 0 "$(journal_count -u memqosd -g 'spoof-[0-9]+\.slice')" "journal lines naming a spoofed unit"
assert_unit_state memqosd.service ActiveState=active NRestarts=0
