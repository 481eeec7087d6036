#!/bin/bash
# layouts: v1 v2
# An OOM in a slice: an OOM event for the slice, and an OOM-kill event that
# names the victim (pid, comm, unit, priority) from the kernel's report,
# shown by journalctl -u for the slice and for the victim's scope.
. "$MEMQOS_VM_LIB"
. "$MEMQOS_VM_DIR/core.sh"

MSG_OOM=35b4eb409a8449a1ae2fbd47d9263a40
MSG_OOM_KILL=60bd26598cb147faaaf12615974afc84

# The kernel's OOM is what this scenario reports on: memqosd's pre-emptive
# kill (51-priority-kill) would stop the allocator before it, so it is off
# here ([OOM] KillWatermarkRatio=0).
memqosd_conf_add $'[OOM]\nKillWatermarkRatio=0'

cleanup() {
        memqosd_conf_restore
        systemctl stop oomer.scope offline.slice 2>/dev/null || true
        # The kernel's OOM kill leaves oomer.scope failed (and loaded).
        systemctl reset-failed oomer.scope 2>/dev/null || true
        rm -rf /etc/systemd/system/offline.slice.d /etc/systemd/system/oomer.scope.d \
                /run/systemd/system.control/offline.slice.d
        systemctl daemon-reload
}
trap cleanup EXIT

install_dropin oomer.scope 50-memqos.conf <<'CONF'
[X-MemQoS]
MemoryPriority=2
CONF
install_dropin offline.slice 50-memqos.conf <<'CONF'
[X-MemQoS]
MemoryPriority=1
CONF
systemctl daemon-reload
systemctl set-property --runtime offline.slice MemoryMax=64M
start_memqosd
systemctl reload memqosd.service # it may have been running: read KillWatermarkRatio=0
systemctl start offline.slice
wait_state offline.slice LIMIT_BYTES 67108864

step "a 200 MiB allocator in a 64 MiB slice"
systemd-run --quiet --scope --unit=oomer --slice=offline.slice \
        stress-ng --vm 1 --vm-bytes 200M --vm-keep --oomable --timeout 20s --quiet || true

assert_journal -u offline.slice MESSAGE_ID=$MSG_OOM
assert_journal -u offline.slice MESSAGE_ID=$MSG_OOM_KILL
assert_journal -u oomer.scope MESSAGE_ID=$MSG_OOM_KILL MEMQOS_VICTIM_UNIT=oomer.scope MEMQOS_PRIORITY=2
# this scenario's kill, not an earlier one: on Debian 13's 6.12 kernel, 40's
# 110M allocator in a 128M slice is OOM-killed too (tests/vm/README.md)
ev=$(journalctl -b -q MESSAGE_ID=$MSG_OOM_KILL MEMQOS_CGROUP=/offline.slice/oomer.scope -o export | head -n 60)
assert_match "MEMQOS_VICTIM_COMM=stress-ng" "$ev" "victim's name"
assert_match "MEMQOS_VICTIM_PID=[0-9]+" "$ev" "victim's pid"
assert_match "MEMQOS_OOM_CGROUP=/offline.slice" "$ev" "the cgroup that ran out of memory"
assert_match "MEMQOS_LIMIT_BYTES=67108864" "$ev" "its limit"
assert_match "Subject: A process was killed for lack of memory" \
        "$(journalctl -b -q -x -u offline.slice MESSAGE_ID=$MSG_OOM_KILL --no-pager)" "catalog text"
