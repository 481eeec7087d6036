#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Many slices (300 by default), each with a limit and a policy (one prefix
# drop-in) that asks for memqosd's reclaim and priority kill: memqosd follows
# every one with its reclaim and kill watch and its OOM watch, both when the
# slices start under a running memqosd and when memqosd starts with all of
# them running (its questions to systemd stay under the bus's limit of pending
# replies), and never runs out of descriptors. Prints memqosd's descriptors
# and VmRSS.
#
# The count: MEMQOS_MANY_UNITS, or the number in /etc/memqos-vm/many-units
# (tests/vm/run --copy FILE:/etc/memqos-vm/many-units, for a measurement at
# 2,000: systemd under TCG takes about 4 min per 1,000 slices to start them).
# layouts: v1 v2
# kernels: stock (it does not depend on the kernel's memcg files)
. "$MEMQOS_VM_LIB"
. "$MEMQOS_VM_DIR/core.sh"

N=${MEMQOS_MANY_UNITS:-300}
[[ -r /etc/memqos-vm/many-units ]] && N=$(</etc/memqos-vm/many-units)
[[ $N =~ ^[1-9][0-9]*$ ]] || fail "MEMQOS_MANY_UNITS: not a count: '$N'"
dir=/run/systemd/system
# Generous: memqosd asks systemd about each unit, which under TCG answers a few
# hundred a second; what fails is a unit never followed, not a slow one.
follow_timeout=$((60 + N / 5))

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

n_followed() {
        grep -l '^ACTIVE=yes' "$MEMQOS_STATE"/memqosmany-[0-9]*.slice 2>/dev/null | wc -l
}
all_followed() {
        [[ $(n_followed) -eq $N ]]
}
# wait_followed WHAT: every slice followed, or fail saying how many are.
wait_followed() {
        local deadline=$((SECONDS + follow_timeout))
        until all_followed || ((SECONDS > deadline)); do
                sleep 1
        done
        all_followed ||
                fail "memqosd follows $(n_followed) of $N slices $1" \
                     "$(journalctl --no-pager -b --since "$since" -o cat |
                        grep -iE 'could not|cannot|pending replies' | sort | uniq -c | sort -rn | head -n 5)"
}

# fds_linking PATTERN: memqosd's descriptors whose link matches, one a line.
# memqosd opens and closes files while it samples (v2 reads memory.current
# every 100 ms): a descriptor closed between find's listing and its readlink
# is not an error (it made a CI run fail: "find: /proc/PID/fd/22: No such
# file or directory").
fds_linking() {
        find "/proc/$pid/fd" -lname "$1" -printf '%f\n' 2>/dev/null || true
}

# measure WHEN: memqosd's descriptors, watches and RSS, checked per slice.
measure() {
        local fds eventfds inotify_fds wds=0 rss per_unit_max f
        fds=$(ls "/proc/$pid/fd" | wc -l)
        eventfds=$(fds_linking 'anon_inode:\[eventfd\]' | wc -l)
        inotify_fds=$(fds_linking 'anon_inode:inotify')
        for f in $inotify_fds; do
                wds=$((wds + $(grep -c '^inotify wd:' "/proc/$pid/fdinfo/$f")))
        done
        rss=$(awk '/^VmRSS/ { print $2, $3 }' "/proc/$pid/status")
        echo "memqosd $1, following $N slices ($MEMQOS_VM_LAYOUT): $fds fds ($fds_idle idle," \
             "$(((fds - fds_idle) * 100 / N / 100)).$(printf '%02d' $(((fds - fds_idle) * 100 / N % 100))) per slice)," \
             "$eventfds eventfds, $(wc -w <<<"$inotify_fds") inotify instances with $wds watches; VmRSS $rss"

        if [[ $MEMQOS_VM_LAYOUT == v1 ]]; then
                # Per slice: an eventfd for the reclaim and kill thresholds, one
                # for OOM notifications; a dirfd for each of the two watches.
                ((eventfds >= 2 * N)) || fail "$eventfds eventfds for $N slices: not every slice is watched"
                per_unit_max=4
        else
                # Per slice: memory.events and memory.events.local in the shared
                # inotify instance (the reclaim and kill watch and the OOM watch
                # have the same wd); a dirfd for each of the two watches.
                ((wds >= 2 * N)) || fail "$wds inotify watches for $N slices: not every slice is watched"
                per_unit_max=2
        fi
        # A few more for the parent memqosmany.slice.
        ((fds - fds_idle <= per_unit_max * N + 10)) ||
                fail "$((fds - fds_idle)) descriptors for $N slices: more than $per_unit_max per slice"
}

no_trouble_said() {
        local journal
        journal=$(journalctl --no-pager -b --since "$since" -o cat)
        ! grep -E 'Too many open files|Cannot watch|pending replies' <<<"$journal" | sort | uniq -c |
                sort -rn | head -n 5 | grep . ||
                fail "memqosd could not watch every slice, or the bus refused its questions (above)"
}

step "$N slices, started under a running memqosd"
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
        for i in $(seq -w 1 "$N"); do
                printf '[Slice]\nMemoryMax=64M\n' >"$dir/memqosmany-$i.slice"
                echo "Wants=memqosmany-$i.slice"
        done
} >"$dir/memqosmany.target"
systemctl daemon-reload
systemctl start memqosmany.target
echo "$N slices started in $((SECONDS - start)) s"
wait_followed "after they started"
echo "$N of $N followed by memqosd $((SECONDS - start)) s after the start"
wait_state "memqosmany-$N.slice" WATERMARK_RATIO 70
no_trouble_said
measure "with the slices started under it"
assert_eq "$pid" "$(systemctl show -P MainPID memqosd)" "memqosd's pid (no restart)"

step "memqosd starts with $N slices running"
systemctl stop memqosd.service
start=$SECONDS
start_memqosd
pid=$(systemctl show -P MainPID memqosd)
wait_followed "after memqosd started"
echo "$N of $N followed $((SECONDS - start)) s after memqosd started"
no_trouble_said
measure "started with the slices running"
assert_eq "$pid" "$(systemctl show -P MainPID memqosd)" "memqosd's pid (no restart)"

step "stop"
start=$SECONDS
systemctl stop memqosmany.target memqosmany.slice
# memqosd has seen each stop: the state file says ACTIVE=no or is gone.
none_active() {
        [[ $(n_followed) -eq 0 ]]
}
wait_until "$follow_timeout" none_active
echo "$N slices stopped and forgotten in $((SECONDS - start)) s; memqosd: $(ls "/proc/$pid/fd" | wc -l) fds"
