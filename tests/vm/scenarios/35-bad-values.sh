#!/bin/bash
# layouts: v1 v2
# A wrong value gets one clear warning naming the unit, file, line and key;
# it is ignored, as systemd ignores it: the assignment before it in file
# order (or the default) is in force, so that the files alone decide and an
# edit of the earlier file comes into force; nothing else is affected.
. "$MEMQOS_VM_LIB"
. "$MEMQOS_VM_DIR/core.sh"

cleanup() {
        systemctl stop offline.slice online.slice 2>/dev/null || true
        rm -rf /etc/systemd/system/offline.slice.d /etc/systemd/system/online.slice.d
        rm -f /root/60-bad.conf.moved
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

step "MemoryPriority=13 and WatermarkRatio=abc in a later drop-in"
install_dropin offline.slice 60-bad.conf <<'CONF'
[X-MemQoS]
MemoryPriority=13
WatermarkRatio=abc
CONF
systemctl daemon-reload
f=/etc/systemd/system/offline.slice.d/60-bad.conf
assert_journal -u offline.slice MESSAGE_ID=$MSG_INVALID MEMQOS_FILE=$f MEMQOS_LINE=2 MEMQOS_KEY=MemoryPriority
assert_journal -u offline.slice MESSAGE_ID=$MSG_INVALID MEMQOS_FILE=$f MEMQOS_LINE=3 MEMQOS_KEY=WatermarkRatio
assert_match "$f:2: .*MemoryPriority" \
        "$(journalctl -b -q -u offline.slice MESSAGE_ID=$MSG_INVALID MEMQOS_LINE=2 -o cat)" "warning text"

step "the earlier assignments are in force, the other unit is untouched"
assert_knob offline.slice MEMORY_PRIORITY memory.priority 2
assert_knob offline.slice WATERMARK_RATIO memory.wmark_ratio 60
assert_knob online.slice MEMORY_PRIORITY memory.priority 9
assert_journal_count 0 -u online.slice MESSAGE_ID=$MSG_INVALID

step "the earlier drop-in edited (2 to 5), daemon-reload, restart: 5, as the files say"
sed -i 's/MemoryPriority=2/MemoryPriority=5/' /etc/systemd/system/offline.slice.d/50-memqos.conf
systemctl daemon-reload
systemctl stop offline.slice
wait_stopped offline.slice
systemctl start offline.slice
wait_state offline.slice ACTIVE yes
assert_knob offline.slice MEMORY_PRIORITY memory.priority 5
assert_knob offline.slice WATERMARK_RATIO memory.wmark_ratio 60

step "said once: another daemon-reload and a restart of the slice add no warning"
systemctl daemon-reload
systemctl stop offline.slice
wait_stopped offline.slice
systemctl start offline.slice
wait_state offline.slice ACTIVE yes
sleep 1
assert_journal_count 1 -u offline.slice MESSAGE_ID=$MSG_INVALID MEMQOS_FILE=$f MEMQOS_LINE=2
assert_unit_state memqosd.service ActiveState=active NRestarts=0

step "the same files after a restart of memqosd: the same policy"
systemctl restart memqosd
assert_knob offline.slice MEMORY_PRIORITY memory.priority 5
assert_knob offline.slice WATERMARK_RATIO memory.wmark_ratio 60

step "a drop-in that cannot be read (gone before daemon-reload): the unit keeps its whole policy"
mv $f /root/60-bad.conf.moved
systemctl reload memqosd
assert_journal -u offline.slice MESSAGE_ID=$MSG_INVALID MEMQOS_FILE=$f MEMQOS_LINE=0
assert_knob offline.slice MEMORY_PRIORITY memory.priority 5
assert_knob offline.slice WATERMARK_RATIO memory.wmark_ratio 60
assert_unit_state memqosd.service ActiveState=active NRestarts=0
