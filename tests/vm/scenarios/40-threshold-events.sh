#!/bin/bash
# layouts: v1 v2
# kernels: stock
# MemoryThresholds= become journal events when usage crosses them, up and
# down, visible with journalctl -u, MESSAGE_ID= and -x (catalog text).
. "$MEMQOS_VM_LIB"
. "$MEMQOS_VM_DIR/core.sh"

MSG_THRESHOLD=916c163d02074225b93312a683ee9a6f

cleanup() {
        systemctl stop hog.scope offline.slice 2>/dev/null || true
        systemctl reset-failed hog.scope 2>/dev/null || true
        rm -rf /etc/systemd/system/offline.slice.d /run/systemd/system.control/offline.slice.d
        systemctl daemon-reload
}
trap cleanup EXIT

install_dropin offline.slice 50-memqos.conf <<'CONF'
[X-MemQoS]
MemoryThresholds=64M 75%
CONF
systemctl daemon-reload
systemctl set-property --runtime offline.slice MemoryMax=256M
start_memqosd
systemctl start offline.slice
wait_state offline.slice LIMIT_BYTES 268435456

step "an allocator of 100 MiB crosses 64M up, then down when it exits"
systemd-run --quiet --scope --unit=hog --slice=offline.slice \
        stress-ng --vm 1 --vm-bytes 100M --vm-keep --timeout 6s --quiet
assert_journal -u offline.slice MESSAGE_ID=$MSG_THRESHOLD MEMQOS_THRESHOLD_BYTES=67108864 MEMQOS_DIRECTION=up
assert_journal -u offline.slice MESSAGE_ID=$MSG_THRESHOLD MEMQOS_THRESHOLD_BYTES=67108864 MEMQOS_DIRECTION=down
# 75% of 256M is 192M: never reached.
assert_journal_count 0 -u offline.slice MESSAGE_ID=$MSG_THRESHOLD MEMQOS_THRESHOLD_BYTES=201326592

step "the fields"
ev=$(journalctl -b -q -u offline.slice MESSAGE_ID=$MSG_THRESHOLD MEMQOS_DIRECTION=up -o export | head -n 40)
assert_match "MEMQOS_LIMIT_BYTES=268435456" "$ev" "limit in the event"
assert_match "MEMQOS_USAGE_BYTES=[0-9]+" "$ev" "usage in the event"
assert_match "MEMQOS_CGROUP=/offline.slice" "$ev" "cgroup in the event"
assert_match "Subject: Memory usage of offline.slice crossed a threshold" \
        "$(journalctl -b -q -x -u offline.slice MESSAGE_ID=$MSG_THRESHOLD --no-pager)" "catalog text"

step "a lower limit moves the percentage threshold: 75% of 128M = 96M"
systemctl set-property --runtime offline.slice MemoryMax=128M
wait_state offline.slice LIMIT_BYTES 134217728
sleep 1
systemd-run --quiet --scope --unit=hog --slice=offline.slice \
        stress-ng --vm 1 --vm-bytes 110M --vm-keep --timeout 6s --quiet || true
assert_journal -u offline.slice MESSAGE_ID=$MSG_THRESHOLD MEMQOS_THRESHOLD_BYTES=100663296 MEMQOS_DIRECTION=up
