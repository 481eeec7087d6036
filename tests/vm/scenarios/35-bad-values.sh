#!/bin/bash
# layouts: v1 v2
# A wrong value gets one clear warning naming the unit, file, line and key;
# the last valid value stays in force; nothing else is affected.
. "$MEMQOS_VM_LIB"
. "$MEMQOS_VM_DIR/core.sh"

cleanup() {
        systemctl stop offline.slice online.slice 2>/dev/null || true
        rm -rf /etc/systemd/system/offline.slice.d /etc/systemd/system/online.slice.d
        systemctl daemon-reload
}
trap cleanup EXIT

install_dropin offline.slice 50-memqos.conf <<'CONF'
[X-MemQoS]
MemoryPriority=2
WatermarkRatio=60
CONF
install_dropin online.slice 50-memqos.conf <<'CONF'
[X-MemQoS]
MemoryPriority=9
CONF
systemctl daemon-reload
start_memqosd
systemctl start offline.slice online.slice
assert_knob offline.slice MEMORY_PRIORITY memory.priority 2

step "MemoryPriority=13 and WatermarkRatio=abc"
install_dropin offline.slice 50-memqos.conf <<'CONF'
[X-MemQoS]
MemoryPriority=13
WatermarkRatio=abc
CONF
systemctl daemon-reload
f=/etc/systemd/system/offline.slice.d/50-memqos.conf
assert_journal -u offline.slice MESSAGE_ID=$MSG_INVALID MEMQOS_FILE=$f MEMQOS_LINE=2 MEMQOS_KEY=MemoryPriority
assert_journal -u offline.slice MESSAGE_ID=$MSG_INVALID MEMQOS_FILE=$f MEMQOS_LINE=3 MEMQOS_KEY=WatermarkRatio
assert_match "$f:2: .*MemoryPriority" \
        "$(journalctl -b -q -u offline.slice MESSAGE_ID=$MSG_INVALID MEMQOS_LINE=2 -o cat)" "warning text"

step "the old values stay in force, the other unit is untouched"
assert_knob offline.slice MEMORY_PRIORITY memory.priority 2
assert_knob offline.slice WATERMARK_RATIO memory.wmark_ratio 60
assert_knob online.slice MEMORY_PRIORITY memory.priority 9
assert_journal_count 0 -u online.slice MESSAGE_ID=$MSG_INVALID

step "said once: another daemon-reload and a restart of the slice add no warning"
systemctl daemon-reload
systemctl stop offline.slice
wait_stopped offline.slice
systemctl start offline.slice
wait_state offline.slice ACTIVE yes
sleep 1
assert_journal_count 1 -u offline.slice MESSAGE_ID=$MSG_INVALID MEMQOS_LINE=2
assert_unit_state memqosd.service ActiveState=active NRestarts=0

step "a drop-in that cannot be read (gone before daemon-reload): the unit keeps its whole policy"
mv $f /root/50-memqos.conf.moved
systemctl reload memqosd
assert_journal -u offline.slice MESSAGE_ID=$MSG_INVALID MEMQOS_FILE=$f MEMQOS_LINE=0
assert_knob offline.slice MEMORY_PRIORITY memory.priority 2
assert_knob offline.slice WATERMARK_RATIO memory.wmark_ratio 60
assert_unit_state memqosd.service ActiveState=active NRestarts=0
