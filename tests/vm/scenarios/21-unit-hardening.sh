#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The hardened memqosd.service: systemd-analyze security rates its exposure at
# 2.0 or less, and memqosd still runs under it: it follows a unit, reads
# /dev/kmsg, has its descriptor limit, and no system call or device is
# refused it. (The priority kill and OOM events under this unit: 51, 41.)
# layouts: v1 v2
# kernels: stock
. "$MEMQOS_VM_LIB"
. "$MEMQOS_VM_DIR/core.sh"

cleanup() {
        systemctl stop memqoshard.slice 2>/dev/null || true
        rm -rf /run/systemd/system/memqoshard.slice /run/systemd/system/memqoshard.slice.d
        systemctl daemon-reload
}
trap cleanup EXIT

step "exposure"
out=$(systemd-analyze security --no-pager memqosd.service 2>&1) || true
exposure=$(sed -n 's/.*Overall exposure level for memqosd\.service: \([0-9.]*\).*/\1/p' <<<"$out")
echo "systemd-analyze security memqosd.service: $exposure"
[[ -n $exposure ]] || fail "no exposure level from systemd-analyze security" "$out"
awk -v e="$exposure" 'BEGIN { exit !(e <= 2.0) }' ||
        fail "exposure of memqosd.service above 2.0" "seen: $exposure" "$(grep '✗' <<<"$out")"

step "memqosd runs under the unit"
printf '[Slice]\nMemoryMax=64M\n' >/run/systemd/system/memqoshard.slice
mkdir -p /run/systemd/system/memqoshard.slice.d
printf '[X-MemQoS]\nMemoryPriority=2\nWatermarkRatio=70\nMemoryThresholds=50%%\n' \
        >/run/systemd/system/memqoshard.slice.d/50-memqos.conf
systemctl daemon-reload
since=$(date '+%Y-%m-%d %H:%M:%S')
systemctl restart memqosd.service
assert_unit_state memqosd.service ActiveState=active SubState=running
systemctl start memqoshard.slice
wait_state memqoshard.slice MEMORY_PRIORITY 2
pid=$(systemctl show -P MainPID memqosd)

# /dev/kmsg is open (OOM kills are named from it).
ls -l "/proc/$pid/fd" | grep -q ' -> /dev/kmsg$' ||
        fail "memqosd has no /dev/kmsg open" "$(ls -l "/proc/$pid/fd")" \
             "$(journalctl --no-pager -b -u memqosd --since "$since" -o cat)"
# LimitNOFILE= (memqosd cannot raise it itself under the filter).
assert_eq "524288 524288" "$(awk '/^Max open files/ { print $4, $5 }' "/proc/$pid/limits")" \
        "memqosd's soft and hard RLIMIT_NOFILE"
# Nothing refused: a system call outside the filter fails with EPERM, a
# device outside DeviceAllow= too; memqosd would warn of either.
journal=$(journalctl --no-pager -b -u memqosd --since "$since" -o cat -p warning)
! grep -Ei 'not permitted|permission denied|bad system call' <<<"$journal" ||
        fail "memqosd was refused something under the hardened unit" "$journal"
assert_unit_state memqosd.service ActiveState=active SubState=running
