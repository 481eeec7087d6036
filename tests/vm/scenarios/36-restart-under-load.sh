#!/bin/bash
# layouts: v1 v2
# memqosd restarted while the units are busy converges to the same state,
# writes nothing twice and loses nothing.
. "$MEMQOS_VM_LIB"
. "$MEMQOS_VM_DIR/core.sh"

cleanup() {
        systemctl stop load-1.scope load-2.scope offline.slice 2>/dev/null || true
        rm -rf /etc/systemd/system/offline.slice.d /etc/systemd/system/load-.scope.d
        systemctl daemon-reload
}
trap cleanup EXIT

install_dropin offline.slice 50-memqos.conf <<'CONF'
[X-MemQoS]
MemoryPriority=1
WatermarkRatio=80
CONF
install_dropin load-.scope 50-memqos.conf <<'CONF'
[X-MemQoS]
MemoryPriority=4
CONF
systemctl daemon-reload
systemctl set-property --runtime offline.slice MemoryMax=256M
start_memqosd

systemd-run --quiet --scope --unit=load-1 --slice=offline.slice \
        stress-ng --vm 1 --vm-bytes 96M --vm-keep --timeout 120s --quiet &
systemd-run --quiet --scope --unit=load-2 --slice=offline.slice \
        stress-ng --vm 1 --vm-bytes 64M --vm-keep --timeout 120s --quiet &
wait_until 20 systemctl is-active load-1.scope
wait_until 20 systemctl is-active load-2.scope
assert_knob load-1.scope MEMORY_PRIORITY memory.priority 4
# The policy part of the state files: USAGE_BYTES and LAST_EVENT* say what
# happened since, and differ after every restart.
policy_state() { cat "$MEMQOS_STATE/load-1.scope" "$MEMQOS_STATE/offline.slice" | grep -Ev '^(USAGE_BYTES|LAST_EVENT|LAST_EVENT_AT)='; }
before=$(policy_state)

step "restart memqosd three times under load"
for i in 1 2 3; do
        systemctl restart memqosd
        assert_unit_state memqosd.service ActiveState=active SubState=running
done
assert_knob load-1.scope MEMORY_PRIORITY memory.priority 4
assert_knob load-2.scope MEMORY_PRIORITY memory.priority 4
assert_knob offline.slice MEMORY_PRIORITY memory.priority 1
after=$(policy_state)
if kernel_has_priority; then
        # Converged: nothing left to write after a restart.
        assert_match "in-place" "$(state_get load-1.scope MEMORY_PRIORITY_STATE)"
else
        assert_eq "$before" "$after" "state files after restarts"
fi
assert_journal_count 0 -u memqosd PRIORITY=3
