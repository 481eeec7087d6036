#!/bin/bash
# layouts: v1 v2
# Editing a drop-in and daemon-reload changes the desired value; stop/start
# of the unit re-applies to the new cgroup; a removed setting is undone.
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
MemoryPriority=1
WatermarkRatio=70
CONF
systemctl daemon-reload
start_memqosd
systemctl start offline.slice
assert_knob offline.slice MEMORY_PRIORITY memory.priority 1

step "edit + daemon-reload"
sed -i 's/MemoryPriority=1/MemoryPriority=4/' /etc/systemd/system/offline.slice.d/50-memqos.conf
systemctl daemon-reload
assert_knob offline.slice MEMORY_PRIORITY memory.priority 4
assert_journal -u offline.slice MESSAGE_ID=$MSG_POLICY MEMQOS_MEMORY_PRIORITY=4

step "a second drop-in overrides the first (later file wins)"
install_dropin offline.slice 60-override.conf <<'CONF'
[X-MemQoS]
MemoryPriority=6
CONF
systemctl daemon-reload
assert_knob offline.slice MEMORY_PRIORITY memory.priority 6
assert_knob offline.slice WATERMARK_RATIO memory.wmark_ratio 70

step "stop/start: a new cgroup, programmed again"
before=$(journal_count -u offline.slice MESSAGE_ID=$MSG_POLICY)
systemctl stop offline.slice
wait_stopped offline.slice
systemctl start offline.slice
wait_state offline.slice ACTIVE yes
assert_knob offline.slice MEMORY_PRIORITY memory.priority 6
deadline=$((SECONDS + 10))
until (($(journal_count -u offline.slice MESSAGE_ID=$MSG_POLICY) > before)); do
        ((SECONDS < deadline)) || fail "a new policy event after the restart of offline.slice"
        sleep 0.2
done

step "SIGHUP (systemctl reload memqosd) re-reads the files as well"
sed -i 's/MemoryPriority=6/MemoryPriority=7/' /etc/systemd/system/offline.slice.d/60-override.conf
systemctl reload memqosd
assert_knob offline.slice MEMORY_PRIORITY memory.priority 7
