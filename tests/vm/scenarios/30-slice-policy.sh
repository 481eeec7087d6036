#!/bin/bash
# layouts: v1 v2
# The shipped drop-ins on the example slices: memqosd reads [X-MemQoS] from
# the unit's own files and programs (or, on a stock kernel, reports) the
# memcg files; the parent gets use_priority_oom; on a stock kernel the
# journal says once per feature that memqosd does the work itself;
# `journalctl -u offline.slice` shows it all.
. "$MEMQOS_VM_LIB"
. "$MEMQOS_VM_DIR/core.sh"

cleanup() {
        systemctl stop online.slice offline.slice 2>/dev/null || true
        rm -rf /etc/systemd/system/online.slice.d /etc/systemd/system/offline.slice.d
        systemctl daemon-reload
}
trap cleanup EXIT

step "install the shipped drop-ins"
install_dropin online.slice 50-memqos.conf </usr/share/memqos/dropins/online.slice.d/50-memqos.conf
install_dropin offline.slice 50-memqos.conf </usr/share/memqos/dropins/offline.slice.d/50-memqos.conf
systemctl daemon-reload
start_memqosd
systemctl start online.slice offline.slice

step "desired state and kernel files"
assert_knob offline.slice MEMORY_PRIORITY memory.priority 1
assert_knob offline.slice WATERMARK_RATIO memory.wmark_ratio 80
assert_knob offline.slice USE_PRIORITY_OOM memory.use_priority_oom 1
assert_knob online.slice MEMORY_PRIORITY memory.priority 12
assert_eq "80% 95%" "$(state_get online.slice MEMORY_THRESHOLDS)" "thresholds of online.slice"
d=/etc/systemd/system/offline.slice.d/50-memqos.conf
assert_eq "$d:7 $d:10 $d:12" "$(state_get offline.slice SOURCES)" \
        "policy sources of offline.slice: the line of each key in force (the fragment sets none)"

step "the parent of prioritized slices gets use_priority_oom (ParentUsePriorityOOM=yes)"
wait_state -.slice USE_PRIORITY_OOM 1

step "the policy event, through journalctl -u"
assert_journal -u offline.slice MESSAGE_ID=$MSG_POLICY MEMQOS_MEMORY_PRIORITY=1 MEMQOS_WATERMARK_RATIO=80 "MEMQOS_SOURCES=$d:7 $d:10 $d:12"
assert_journal -u online.slice MESSAGE_ID=$MSG_POLICY MEMQOS_MEMORY_PRIORITY=12
text=$(journalctl -b -q -u offline.slice MESSAGE_ID=$MSG_POLICY -o cat | tail -n 1)
assert_match "Policy in force: MemoryPriority=1 " "$text"
# the slice has no MemoryMax=: its WatermarkRatio= is not in force, and why
assert_match "WatermarkRatio=80 \([a-z-]+\) has no effect: offline.slice has no memory limit \(set MemoryMax=\)" "$text"
assert_match "memqosd set UsePriorityOOM=1 \([a-z-]+\) itself: a child cgroup has MemoryPriority=" \
        "$(journalctl -b -q -u -.slice MESSAGE_ID=$MSG_POLICY -o cat | tail -n 1)" "the parent flag, on its own"
assert_match "Subject: Memory QoS policy in force for offline.slice" \
        "$(journalctl -b -q -x -u offline.slice MESSAGE_ID=$MSG_POLICY -n 1 --no-pager)" "catalog text"

if ! kernel_has_priority; then
        # Backend=auto on a stock kernel: memqosd does the work itself, says
        # so once per feature, and reports no missing feature.
        step "each feature's backend is said once, with the reason"
        sleep 3 # a missing feature would be reported after 2 s
        # (memqosd may have started before in this boot: this one's messages)
        pid=_PID=$(systemctl show -P MainPID memqosd.service)
        assert_journal_count 1 "$pid" MESSAGE_ID=$MSG_BACKEND MEMQOS_FEATURE=reclaim MEMQOS_BACKEND=emulate
        assert_journal_count 1 "$pid" MESSAGE_ID=$MSG_BACKEND MEMQOS_FEATURE=oom MEMQOS_BACKEND=emulate
        assert_match "this kernel lacks the files" \
                "$(journalctl -b -q "$pid" MESSAGE_ID=$MSG_BACKEND MEMQOS_FEATURE=reclaim -o export | sed -n 's/^MEMQOS_REASON=//p')" \
                "the reason"
        assert_journal_count 0 "$pid" MESSAGE_ID=$MSG_MISSING
fi
