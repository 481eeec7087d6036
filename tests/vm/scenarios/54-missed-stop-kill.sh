#!/bin/bash
# layouts: v1 v2
# memqosd's own kill watch is a unit's only watch (WatchOOM=no, no
# thresholds) and the unit's cgroup is removed and made again behind
# systemd's back, so that no signal tells of it (as when a stop is missed):
# the removal makes memqosd ask systemd again, and the priority kill decides
# in the new cgroup (issue #11, item 7). The allocator is the only process
# there, so the highest priority in use: the pre-emptive kill leaves it to
# the kernel (nobody above it to protect) and says so, which is how the test
# sees that memqosd watched the new cgroup.
#
# The window between the rmdir and the mkdir is held open for 3 s: memqosd
# hears of the removal within a sample (v2) or at once (v1), asks systemd,
# which says the unit is still active, and finds no cgroup there. It must
# look again until the cgroup is back: before that fix (found on v2, where
# the emulator samples and so hears of a removal later than v1's eventfd,
# often after the mkdir) memqosd never looked again and the kernel's OOM
# killer, not memqosd, killed the allocator at 384M.
. "$MEMQOS_VM_LIB"
. "$MEMQOS_VM_DIR/core.sh"
. "$MEMQOS_VM_DIR/emu.sh"

MSG_PRIORITY_KILL=e237dcbd89ba4291bc83c314199d80eb
MiB=1048576
run=/run/memqos-missed

# emu_cleanup resets emu-offline.scope too, which the kernel's OOM kill
# leaves failed: loaded, it would refuse the next scenario's scope.
trap 'emu_cleanup "$run"' EXIT

step "set-up: WatchOOM=no; emu.slice (384M, UsePriorityOOM=yes, no thresholds)"
# No unit in emu.slice has a priority: nothing that starts there makes
# memqosd look at emu.slice again, only the removal itself can.
memqosd_conf_add $'[Events]\nWatchOOM=no'
emu_kill_slice

step "emu.slice's cgroup removed and made again behind systemd's back"
cg=$(memcg_dir /emu.slice)
rmdir "$cg"
sleep 3
if [[ $MEMQOS_VM_LAYOUT == v2 ]]; then
        mkdir "$cg" && echo $((384 * MiB)) >"$cg/memory.max" &&
                echo +memory >"$cg/cgroup.subtree_control"
else
        mkdir "$cg" && echo $((384 * MiB)) >"$cg/memory.limit_in_bytes"
fi
assert_eq $((384 * MiB)) "$(cat "$cg/memory.max" 2>/dev/null || cat "$cg/memory.limit_in_bytes")" "the new cgroup's limit"

step "a process in emu.slice takes 400M, 10M at a time: memqosd decides at the kill watermark, the kernel kills at the limit"
emu_allocator "$run"
hold emu-offline emu.slice 400 10 0.2
wait_until 120 journal_has _SYSTEMD_UNIT=memqosd.service \
        -g "only the highest priority in use is left below /emu.slice \\(/emu.slice/emu-offline.scope"
rc=0
wait "$offline_pid" || rc=$?
assert_eq 137 "$rc" "the allocator's exit status (128 + SIGKILL, by the kernel's OOM killer at 384M)"
assert_eq 0 "$(journal_count -u emu.slice MESSAGE_ID=$MSG_PRIORITY_KILL MEMQOS_VICTIM_PID=$offline_pid)" \
        "memqosd's priority kills of the allocator"
