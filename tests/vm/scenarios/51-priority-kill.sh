#!/bin/bash
# layouts: v1 v2
# memqosd's pre-emptive priority kill (issue #7) under systemd: emu.slice has
# MemoryMax=384M and UsePriorityOOM=yes (kill watermark 95%: 364.8M); offline
# (MemoryPriority=1) holds 200M of anonymous memory, online (10) takes 250M
# in 10M steps. memqosd kills offline's process (SIGKILL) before the kernel's
# OOM killer acts; online gets all it asked for; a process outside the slice
# and memqosd itself live on. The event shows under both units.
. "$MEMQOS_VM_LIB"
. "$MEMQOS_VM_DIR/core.sh"
. "$MEMQOS_VM_DIR/emu.sh"

MSG_PRIORITY_KILL=e237dcbd89ba4291bc83c314199d80eb
MSG_OOM_KILL=60bd26598cb147faaaf12615974afc84
MiB=1048576
run=/run/memqos-emu

cleanup() {
        systemctl stop emu-online.scope emu-offline.scope emu-outside.scope emu.slice 2>/dev/null || true
        rm -rf /etc/systemd/system/emu.slice.d /etc/systemd/system/emu-online.scope.d \
                /etc/systemd/system/emu-offline.scope.d "$run"
        memqosd_conf_restore
        systemctl daemon-reload
}
trap cleanup EXIT

emu_allocator "$run"

step "set-up: emu.slice (384M, UsePriorityOOM=yes), offline (1) and online (10) scopes"
emu_prioritized_scopes
emu_kill_slice
memqosd_pid=$(unit_prop memqosd.service MainPID)
# What this scenario adds to the journal is told by counts and by the
# victim's pid, not by --after-cursor: journalctl 252 skipped matching entries
# after a cursor here.
kills_before=$(journal_count MESSAGE_ID=$MSG_PRIORITY_KILL MEMQOS_CGROUP=/emu.slice)
ooms_before=$(journal_count MESSAGE_ID=$MSG_OOM_KILL)
kernel_ooms() { journalctl --no-pager -b -q -k -o cat | grep -c "Memory cgroup out of memory" || true; }
kernel_ooms_before=$(kernel_ooms)

step "100M outside emu.slice, offline's 200M inside"
hold emu-outside system.slice 100 100 0
hold emu-offline emu.slice 200 200 0
wait_until 120 test -e "$run/emu-outside.done" -a -e "$run/emu-offline.done"
wait_state emu-offline.scope MEMORY_PRIORITY 1

step "online takes 250M, 10M at a time: 450M would not fit in 384M"
hold emu-online emu.slice 250 10 0.3
wait_state emu-online.scope MEMORY_PRIORITY 10
wait_until 240 test -e "$run/emu-online.done"
# Under both units.
assert_journal -u emu.slice MESSAGE_ID=$MSG_PRIORITY_KILL MEMQOS_VICTIM_PID=$offline_pid
assert_journal -u emu-offline.scope MESSAGE_ID=$MSG_PRIORITY_KILL MEMQOS_VICTIM_PID=$offline_pid

step "the victim: offline's allocator, by SIGKILL"
# kill_field FIELD: FIELD of the event that names offline's allocator.
kill_field() {
        journalctl --no-pager -b -q MESSAGE_ID=$MSG_PRIORITY_KILL MEMQOS_VICTIM_PID=$offline_pid \
                -o cat --output-fields="$1"
}
assert_eq /emu.slice "$(kill_field MEMQOS_CGROUP)" "the cgroup under pressure"
assert_eq /emu.slice/emu-offline.scope "$(kill_field MEMQOS_VICTIM_CGROUP)" "the victim's cgroup"
assert_eq emu-offline.scope "$(kill_field MEMQOS_VICTIM_UNIT)" "the victim's unit"
assert_eq 1 "$(kill_field MEMQOS_VICTIM_PRIORITY)" "the victim's priority"
assert_eq perl "$(kill_field MEMQOS_VICTIM_COMM)" "the victim's name"
assert_eq SIGKILL "$(kill_field MEMQOS_METHOD)" "the method (the scope has no memory.oom.group)"
assert_eq $((384 * MiB)) "$(kill_field MEMQOS_LIMIT_BYTES)" "the limit"
rc=0
wait "$offline_pid" || rc=$?
assert_eq 137 "$rc" "offline's exit status (128 + SIGKILL)"
assert_eq $((kills_before + 1)) "$(journal_count MESSAGE_ID=$MSG_PRIORITY_KILL MEMQOS_CGROUP=/emu.slice)" \
        "kills in emu.slice (offline's allocator only)"

step "online, the outside process and memqosd live; the kernel killed nothing"
kill -0 "$online_pid" || fail "online's allocator died"
kill -0 "$outside_pid" || fail "the process outside emu.slice died"
assert_eq "$memqosd_pid" "$(unit_prop memqosd.service MainPID)" "memqosd's pid (not restarted)"
assert_eq "$ooms_before" "$(journal_count MESSAGE_ID=$MSG_OOM_KILL)" "OOM-kill events (the kernel's kills)"
assert_eq "$kernel_ooms_before" "$(kernel_ooms)" "the kernel's memcg OOM reports"
if [[ $MEMQOS_VM_LAYOUT == v2 ]]; then
        assert_eq "oom_kill 0" "$(grep '^oom_kill ' "$(memcg_dir /emu.slice)/memory.events")" "memory.events oom_kill of emu.slice"
else
        assert_eq "oom_kill 0" "$(grep '^oom_kill ' "$(memcg_dir /emu.slice)/memory.oom_control")" "oom_control of emu.slice"
        assert_eq "oom_kill 0" "$(grep '^oom_kill ' "$(memcg_dir /emu.slice/emu-online.scope)/memory.oom_control")" \
                "oom_control of emu-online.scope"
fi
echo "killed $offline_pid (offline); $(journalctl -b -q MESSAGE_ID=$MSG_PRIORITY_KILL MEMQOS_VICTIM_PID=$offline_pid -o cat)"
