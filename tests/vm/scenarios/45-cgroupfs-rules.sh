#!/bin/bash
# layouts: v1 v2
# [Group] rules beside systemd units: a cgroup tree that systemd does not own
# (as kubelet's cgroupfs driver makes) is found and programmed by rule; for a
# cgroup that is a unit's, the unit's own settings win key by key and the
# journal says so.
. "$MEMQOS_VM_LIB"
. "$MEMQOS_VM_DIR/core.sh"

GROUPS_STATE=/run/memqos/groups
cg_root=$(memcg_dir "")

cleanup() {
        rmdir "$cg_root/cgfs/pod1/c1" "$cg_root/cgfs/pod1" "$cg_root/cgfs/pod2" "$cg_root/cgfs" 2>/dev/null || true
        rm -rf /etc/memqos/memqos.conf.d /etc/systemd/system/offline.slice.d
        systemctl stop offline.slice 2>/dev/null || true
        systemctl daemon-reload
        systemctl reload memqosd 2>/dev/null || true
}
trap cleanup EXIT

group_state() {
        sed -n "s/^$2=//p" "$GROUPS_STATE/$1" 2>/dev/null || true
}
group_has() {
        [[ "$(group_state "$1" "$2")" == "$3" ]]
}

install_dropin offline.slice 50-memqos.conf <<'CONF'
[X-MemQoS]
MemoryPriority=1
CONF
systemctl daemon-reload
mkdir -p /etc/memqos/memqos.conf.d
cat >/etc/memqos/memqos.conf.d/50-cgfs.conf <<'CONF'
[Group /cgfs/*]
MemoryPriority=2
MemoryThresholds=90%

[Group /offline.slice]
MemoryPriority=7
WatermarkRatio=50
CONF
start_memqosd
systemctl reload memqosd
systemctl start offline.slice

step "a foreign tree, made after memqosd read the rules"
mkdir -p "$cg_root/cgfs"
[[ $MEMQOS_VM_LAYOUT == v2 ]] && echo +memory >"$cg_root/cgfs/cgroup.subtree_control"
mkdir "$cg_root/cgfs/pod1" "$cg_root/cgfs/pod2"
wait_until 20 group_has cgfs-pod1 MEMORY_PRIORITY 2
wait_until 20 group_has cgfs-pod2 MEMORY_PRIORITY 2
assert_eq "" "$(group_state cgfs-pod1 UNIT)" "UNIT of a group"
assert_eq "/cgfs/pod1" "$(group_state cgfs-pod1 CGROUP)" "CGROUP of the group"
assert_match "^/etc/memqos/memqos.conf.d/50-cgfs.conf:1$" "$(group_state cgfs-pod1 SOURCES)" "rule named"
if kernel_has_priority; then
        assert_eq 2 "$(cat "$cg_root/cgfs/pod1/memory.priority")" "memory.priority of /cgfs/pod1"
else
        assert_eq emulated "$(group_state cgfs-pod1 MEMORY_PRIORITY_STATE)" "state on a stock kernel"
fi
assert_journal MESSAGE_ID=$MSG_POLICY MEMQOS_CGROUP=/cgfs/pod1
ev=$(journalctl -b -q MESSAGE_ID=$MSG_POLICY MEMQOS_CGROUP=/cgfs/pod1 -o export)
[[ $ev != *OBJECT_SYSTEMD_UNIT=* ]] || fail "a group's event names a unit" "$ev"
assert_match "MEMQOS_OBJECT=/cgfs/pod1" "$ev" "a group's event names its cgroup"
assert_match "Subject: Memory QoS policy in force for /cgfs/pod1" \
        "$(journalctl -b -q -x MESSAGE_ID=$MSG_POLICY MEMQOS_CGROUP=/cgfs/pod1 --no-pager)" "catalog text of a group event"

step "/cgfs/* does not reach deeper"
mkdir "$cg_root/cgfs/pod1/c1"
sleep 1
[[ ! -e $GROUPS_STATE/cgfs-pod1-c1 ]] || fail "/cgfs/* matched /cgfs/pod1/c1"

step "the unit's own settings win over the rule for its cgroup"
assert_knob offline.slice MEMORY_PRIORITY memory.priority 1
assert_knob offline.slice WATERMARK_RATIO memory.wmark_ratio 50
assert_match "^/etc/memqos/memqos.conf.d/50-cgfs.conf:5 " "$(state_get offline.slice SOURCES)" "rule in the unit's sources"
said() {
        journalctl -b -q -u offline.slice -o cat | grep -q "own MemoryPriority= overrides the \[Group /offline.slice\] rule"
}
wait_until 10 said
[[ ! -e $GROUPS_STATE/offline.slice ]] || fail "a group state for a unit's cgroup"

step "a limit written to the group's cgroup is followed without a reload"
if [[ $MEMQOS_VM_LAYOUT == v2 ]]; then limit_file=memory.max; else limit_file=memory.limit_in_bytes; fi
echo $((96 * 1024 * 1024)) >"$cg_root/cgfs/pod1/$limit_file"
wait_until 10 group_has cgfs-pod1 LIMIT_BYTES $((96 * 1024 * 1024))
assert_journal MESSAGE_ID=92602d1d16dd4fe5a6427cf727d98e30 MEMQOS_CGROUP=/cgfs/pod1 MEMQOS_LIMIT_BYTES=$((96 * 1024 * 1024))

step "the parent of the groups with MemoryPriority= is followed for them"
wait_until 10 test -e "$GROUPS_STATE/cgfs"
assert_journal MEMQOS_CGROUP=/cgfs MESSAGE_ID=$MSG_POLICY

step "removal"
rmdir "$cg_root/cgfs/pod2"
wait_until 20 test ! -e "$GROUPS_STATE/cgfs-pod2"
