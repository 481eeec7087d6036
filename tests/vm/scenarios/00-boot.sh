#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The guest itself: booted to a clean "running" state, on the cgroup layout
# the run asked for. Every other scenario relies on this.
# layouts: v1 v2
. "$MEMQOS_VM_LIB"

step "system state after boot"
state=$(systemctl is-system-running || true)
assert_eq running "$state" \
        "system state (failed units: $(systemctl --failed --no-legend --plain | awk '{print $1}' | xargs))"

step "cgroup layout $MEMQOS_VM_LAYOUT"
case $MEMQOS_VM_LAYOUT in
v1)
        assert_eq tmpfs "$(stat -fc %T /sys/fs/cgroup)" "filesystem at /sys/fs/cgroup"
        assert_eq cgroupfs "$(stat -fc %T /sys/fs/cgroup/memory)" "filesystem at /sys/fs/cgroup/memory"
        ;;
v2)
        assert_eq cgroup2fs "$(stat -fc %T /sys/fs/cgroup)" "filesystem at /sys/fs/cgroup"
        assert_file_contains /sys/fs/cgroup/cgroup.controllers '(^| )memory( |$)'
        ;;
*)
        fail "MEMQOS_VM_LAYOUT" "expected v1 or v2" "seen: '$MEMQOS_VM_LAYOUT'"
        ;;
esac

step "memqos is installed"
assert_ne "" "$(installed_files '^/usr/sbin/memqosd$')" "memqosd in the installed files"
[[ -x /usr/sbin/memqosd ]] || fail "/usr/sbin/memqosd" "expected an executable" "seen: $(ls -l /usr/sbin/memqosd 2>&1)"
