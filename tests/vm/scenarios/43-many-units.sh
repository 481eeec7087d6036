#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# 2,000 slices, each with a limit and a policy (one prefix drop-in) that asks
# for memqosd's reclaim and priority kill: memqosd follows every one with its
# reclaim and kill watch and its OOM watch, and never runs out of descriptors.
# Prints memqosd's descriptors and VmRSS at 2,000 units.
# layouts: v1 v2
# kernels: stock (it does not depend on the kernel's memcg files)
. "$MEMQOS_VM_LIB"
. "$MEMQOS_VM_DIR/core.sh"

N=2000
dir=/run/systemd/system

cleanup() {
        systemctl stop memqosmany.target memqosmany.slice 2>/dev/null || true
        rm -rf "$dir"/memqosmany*
        systemctl daemon-reload
}
trap cleanup EXIT

start_memqosd
pid=$(systemctl show -P MainPID memqosd)
fds_idle=$(ls "/proc/$pid/fd" | wc -l)
since=$(date '+%Y-%m-%d %H:%M:%S')

step "$N slices"
start=$SECONDS
mkdir -p "$dir/memqosmany-.slice.d"
cat >"$dir/memqosmany-.slice.d/50-memqos.conf" <<'CONF'
[X-MemQoS]
MemoryPriority=1
UsePriorityOOM=yes
WatermarkRatio=70
CONF
{
        echo "[Unit]"
        for i in $(seq -w 1 $N); do
                printf '[Slice]\nMemoryMax=64M\n' >"$dir/memqosmany-$i.slice"
                echo "Wants=memqosmany-$i.slice"
        done
} >"$dir/memqosmany.target"
systemctl daemon-reload
systemctl start memqosmany.target
echo "$N slices started in $((SECONDS - start)) s"

n_followed() {
        ls "$MEMQOS_STATE" | grep -c '^memqosmany-[0-9]*\.slice$'
}
deadline=$((SECONDS + 240))
until [[ $(n_followed) -eq $N ]] || ((SECONDS > deadline)); do
        sleep 1
done
followed=$(n_followed)
echo "$followed of $N followed by memqosd $((SECONDS - start)) s after the start"

fds=$(ls "/proc/$pid/fd" | wc -l)
eventfds=$(find "/proc/$pid/fd" -lname 'anon_inode:\[eventfd\]' | wc -l)
inotify_fds=$(find "/proc/$pid/fd" -lname 'anon_inode:inotify' -printf '%f\n')
wds=0
for f in $inotify_fds; do
        wds=$((wds + $(grep -c '^inotify wd:' "/proc/$pid/fdinfo/$f")))
done
rss=$(awk '/^VmRSS/ { print $2, $3 }' "/proc/$pid/status")
echo "memqosd following $followed of $N slices ($MEMQOS_VM_LAYOUT): $fds fds ($fds_idle idle), $eventfds eventfds," \
     "$(wc -w <<<"$inotify_fds") inotify instances with $wds watches; VmRSS $rss"

step "every slice is followed and has its watches"
journal=$(journalctl --no-pager -b -u memqosd --since "$since" -o cat)
! grep -E 'Too many open files|Cannot watch' <<<"$journal" | head -n 5 | grep . ||
        fail "memqosd could not watch every slice"
((followed == N)) || fail "memqosd follows $followed of $N slices" \
        "$(grep -iE 'could not|cannot' <<<"$journal" | sort | uniq -c | sort -rn | head -n 5)"
wait_state "memqosmany-$N.slice" WATERMARK_RATIO 70

if [[ $MEMQOS_VM_LAYOUT == v1 ]]; then
        # Per slice: an eventfd for the reclaim and kill thresholds, one for
        # OOM notifications; a dirfd for each of the two watches.
        ((eventfds >= 2 * N)) || fail "$eventfds eventfds for $N slices: not every slice is watched"
        per_unit_max=4
else
        # Per slice: memory.events and memory.events.local in the shared
        # inotify instance (the reclaim and kill watch and the OOM watch have
        # the same wd); a dirfd for each of the two watches.
        ((wds >= 2 * N)) || fail "$wds inotify watches for $N slices: not every slice is watched"
        per_unit_max=2
fi
# A few more for the parent memqosmany.slice.
((fds - fds_idle <= per_unit_max * N + 10)) ||
        fail "$((fds - fds_idle)) descriptors for $N slices: more than $per_unit_max per slice"
assert_eq "$pid" "$(systemctl show -P MainPID memqosd)" "memqosd's pid (no restart)"

step "stop"
start=$SECONDS
systemctl stop memqosmany.target memqosmany.slice
# memqosd has seen each stop: the state file says ACTIVE=no or is gone.
active() {
        grep -l '^ACTIVE=yes' "$MEMQOS_STATE"/memqosmany-* 2>/dev/null | wc -l
}
none_active() {
        [[ $(active) -eq 0 ]]
}
wait_until 120 none_active
echo "$N slices stopped and forgotten in $((SECONDS - start)) s; memqosd: $(ls "/proc/$pid/fd" | wc -l) fds"
