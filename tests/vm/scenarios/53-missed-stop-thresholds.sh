#!/bin/bash
# layouts: v1 v2
# kernels: stock
# A unit whose stop memqosd missed keeps its threshold events: the system
# bus restarts and offline.slice stops and starts before memqosd is back on
# the bus; its thresholds still become events in the new cgroup (the
# watch of the old cgroup is not reused: commit 61fdd36), and again after a
# restart with the bus back.
. "$MEMQOS_VM_LIB"
. "$MEMQOS_VM_DIR/core.sh"

MSG_THRESHOLD=916c163d02074225b93312a683ee9a6f
MiB=1048576

cleanup() {
        kill -CONT "$(unit_prop memqosd.service MainPID)" 2>/dev/null || true
        systemctl stop missed-hog.scope offline.slice 2>/dev/null || true
        systemctl reset-failed missed-hog.scope 2>/dev/null || true
        rm -rf /etc/systemd/system/offline.slice.d
        systemctl daemon-reload
}
trap cleanup EXIT

thresholds_up() {
        journal_count -u offline.slice MESSAGE_ID=$MSG_THRESHOLD MEMQOS_THRESHOLD_BYTES=67108864 MEMQOS_DIRECTION=up
}

install_dropin offline.slice 50-memqos.conf <<'CONF'
[Slice]
MemoryMax=256M
[X-MemQoS]
MemoryThresholds=64M
CONF
systemctl daemon-reload
start_memqosd
systemctl start offline.slice
wait_state offline.slice LIMIT_BYTES $((256 * MiB))

# threshold_event_in_new_cgroup: 100 MiB in offline.slice cross 64M: one more event.
threshold_event_in_new_cgroup() {
        local before deadline
        before=$(thresholds_up)
        systemd-run --quiet --scope --unit=missed-hog --slice=offline.slice \
                stress-ng --vm 1 --vm-bytes 100M --vm-keep --timeout 6s --quiet
        deadline=$((SECONDS + 20))
        until (($(thresholds_up) > before)); do
                ((SECONDS < deadline)) || fail "a threshold event of the new offline.slice cgroup" \
                        "expected: more than $before up-crossings of 64M" "seen: $(thresholds_up)" \
                        "memqosd's journal:" "$(journalctl --no-pager -b -u memqosd -n 20 -o cat)"
                sleep 0.2
        done
}

step "the bus restarts, and offline.slice stops and starts before memqosd is back on it"
# memqosd is held (SIGSTOP) so that the bus drops its connection before it
# can hear of the stop: it learns of it only from its watch and from systemd
# once it is back. (memqosd.service Requires= dbus.socket: the socket stays.)
pid=$(unit_prop memqosd.service MainPID)
kill -STOP "$pid"
systemctl restart dbus.service
systemctl stop offline.slice
systemctl start offline.slice
# A change memqosd can only see once it follows systemd again: the barrier.
printf 'MemoryPriority=2\n' >>/etc/systemd/system/offline.slice.d/50-memqos.conf
systemctl daemon-reload
kill -CONT "$pid"
wait_until 60 state_is offline.slice MEMORY_PRIORITY 2
assert_eq "$pid" "$(unit_prop memqosd.service MainPID)" "memqosd's pid"

step "100 MiB in the new cgroup cross 64M: an event"
threshold_event_in_new_cgroup

step "with the bus back, offline.slice restarted: still events"
systemctl stop offline.slice
wait_stopped offline.slice
systemctl start offline.slice
wait_state offline.slice ACTIVE yes
threshold_event_in_new_cgroup
systemctl stop offline.slice
