#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# memqosd's pressure socket (issue #15, memqos-pressure(7)) in the foreground
# (--no-systemd, events on stderr) on [Group] rules, against this machine's
# real cgroup v1 memory controller, with tests/host/pressure-client.c as the
# services.
#
#   test-pressure.sh MEMQOSD CLIENT CASE [MEMQOSCTL SRCDIR]
#   CASE: notice   a client in a group hears of its group's crossings (NoticeThresholds=
#                  and its own registered threshold), a client in another group and one
#                  in no followed group hear nothing; with MEMQOSCTL (and dbus-daemon),
#                  on a private system bus: the notices each group's clients were sent,
#                  in memqosctl list and in the metrics (#16)
#         abuse    bad registrations, a 1 MB write, 1,000 connections and a client that
#                  never reads; memqosd serves the others all along
#         restart  a socket left by a killed memqosd does not stop the next; a clean stop
#                  removes it
#   The ladder (memqos-pressure(7), levels reclaim and kill), on a parent with a low- and a
#   high-priority child, a client holding anonymous memory in the low one:
#         ladder-reclaim-free  memqosd's reclaim tells the low child's client first; it frees
#                              its memory within the grace, and memqosd reclaims nothing
#         ladder-reclaim-keep  the client does not free: reclaim takes from the low child after
#                              the grace
#         ladder-reclaim-nobody  no client in the low child: reclaim neither tells nor waits
#         ladder-reclaim-order   low has too little page cache: high is told too, after low,
#                                asked only for the rest
#         ladder-kill-free     the priority kill tells the chosen leaf's client that it is next;
#                              it frees its memory within the grace, and nobody is killed
#         ladder-kill-keep     the client does not free: it is killed after the grace
#   In each the high-priority child's client is told nothing.
#
# Exit 0 pass, 1 fail, 77 skip (no root / no v1 memory hierarchy).
set -uo pipefail

# shellcheck source=tests/host/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

memqosd=$1
client=$2
case_name=$3
ctl=${4:-}
srcdir=${5:-}
require_root_and_v1
command -v stress-ng >/dev/null || { echo "skip: needs stress-ng"; exit 77; }

top=memqos-test-$$-pressure
root=$v1/$top
work=$(mktemp -d /tmp/memqos-test-pressure.XXXXXX)
log=$work/memqosd.log
sock=$work/state/pressure.sock
daemon=
bus_pid=
clients=()

MSG_NOTIFIED=a2e5df67d2264412b1308f5422de46ce
MSG_GRACE_ENDED=30ba89597ba74eae93006a848fc00484
MSG_RECLAIM=f99e65c964d04a11858d91ab2dda1358
MSG_PRIORITY_KILL=e237dcbd89ba4291bc83c314199d80eb
MiB=1048576

# Page cache must be on a disk file system (tmpfs pages are not reclaimable
# without swap): the ladder cases' files go to /var/tmp.
data=

cleanup() {
        local pid
        for pid in "${clients[@]}"; do kill "$pid" 2>/dev/null; done
        [[ -n $data ]] && rm -rf "$data"
        [[ -n $daemon ]] && kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null
        [[ -n $bus_pid ]] && kill "$bus_pid" 2>/dev/null
        remove_tree "$root"
        rm -rf "$work"
}
trap cleanup EXIT

# Other work on this machine may drop every clean page cache: a ladder
# case that saw that happen proves nothing either way and runs again, at
# most 3 times in all.
drops_at_start=$(sed -n 's/^drop_pagecache //p' /proc/vmstat)
attempt=${MEMQOS_TEST_ATTEMPT:-1}

fail() {
        if [[ $case_name == ladder-* && $(sed -n 's/^drop_pagecache //p' /proc/vmstat) != "$drops_at_start" ]] &&
                ((attempt < 3)); then
                echo "void: page cache was dropped by someone else during the run ($*); again"
                cleanup
                trap - EXIT
                MEMQOS_TEST_ATTEMPT=$((attempt + 1)) exec bash "$0" "$memqosd" "$client" "$case_name" "$ctl" "$srcdir"
        fi
        for f in "$work"/client-*.out; do
                [[ -f $f ]] && { echo "--- $f:"; tail -n 5 "$f"; }
        done
        fail_showing "$log" "$@"
}

start_daemon() {
        local before
        before=$(started_lines "$log")
        "$memqosd" --no-systemd --log-target=stderr --config="$work/memqos.conf" \
                --state-dir="$work/state" 2>>"$log" &
        daemon=$!
        wait_started "$log" "$before" || fail "memqosd did not start"
        test -S "$sock" || fail "no socket at $sock"
}

# start_client NAME CGROUP-DIR ARGS...: the client in that cgroup (or, with
# "-", where this script runs), its output in $work/client-NAME.out.
start_client() {
        local name=$1 dir=$2
        shift 2
        if [[ $dir == - ]]; then
                "$client" "$sock" "$@" >"$work/client-$name.out" 2>&1 &
        else
                # not run_in (a function): $! must be the client itself
                sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$dir" "$client" "$sock" "$@" \
                        >"$work/client-$name.out" 2>&1 &
        fi
        clients+=($!)
        wait_for 10 grep -q "^ready\|^held\|^closed\|^open" "$work/client-$name.out" ||
                fail "client $name did not start"
}

lines() { # NAME PATTERN: how many lines of client NAME match
        grep -c -- "$2" "$work/client-$1.out"
}

events() { grep "MESSAGE_ID=$1" "$log"; }

# field LINE KEY: the value of KEY=... in a stderr line (up to the next blank).
field() {
        local rest=${1#* "$2"=}
        [[ $rest != "$1" ]] || return 0
        echo "${rest%% *}"
}

# line_of MESSAGE_ID: the line number in the log of its first event (0: none).
line_of() { grep -n "MESSAGE_ID=$1" "$log" | head -n 1 | cut -d: -f1 | grep . || echo 0; }

# The ladder's set-up: parent $top (limit $1) with children low (priority 1)
# and high (priority 10), memqos.conf with the extra lines of $2.
ladder_setup() {
        mkdir -p "$root/low" "$root/high"
        echo "$1" >"$root/memory.limit_in_bytes"
        cat >"$work/memqos.conf" <<CONF
[Events]
EventRateLimitBurst=0
[Reclaim]
StandingBounds=no
[Group /$top/low]
MemoryPriority=1
[Group /$top/high]
MemoryPriority=10
$2
CONF
        start_daemon
        start_client high "$root/high" listen
}

cache_of() { sed -n 's/^total_cache //p' "$1/memory.stat"; }

# Usage of cgroup DIR up by BYTES for a moment, by stress-ng in it.
fill() {
        run_in "$1" stress-ng --vm 1 --vm-bytes "$2" --vm-keep --timeout 1s --quiet
}

mkdir "$root" "$root/a" "$root/b"
echo 256M >"$root/a/memory.limit_in_bytes"
echo 256M >"$root/b/memory.limit_in_bytes"
# stress-ng's own pages are charged to the cgroup that first reads them:
# read them here, outside the groups.
cat "$(command -v stress-ng)" >/dev/null
stress-ng --vm 1 --vm-bytes 1M --timeout 1s --quiet

case $case_name in
notice)
        cat >"$work/memqos.conf" <<CONF
[Group /$top/a]
NoticeThresholds=16M
[Group /$top/b]
NoticeThresholds=16M
[Events]
EventRateLimitBurst=0
CONF
        if [[ -n $ctl ]] && command -v dbus-daemon >/dev/null; then
                chmod 755 "$work"
                start_private_system_bus "$work" "$srcdir/units/org.memqos1.conf" || fail "the private bus did not start"
                bus_pid=$private_bus_pid
        fi
        start_daemon
        # systemd's own payload (PSI trigger text and its NUL) is taken and ignored.
        start_client a1 "$root/a" listen 'some 200000 2000000\0'
        # One of its own: 80M.
        start_client a2 "$root/a" listen 'threshold 80M\n'
        start_client b "$root/b" listen 'some 200000 2000000\0'
        start_client outside - listen
        sleep 1.5 # accepted, and a2's registration in force (within 1 s)

        fill "$root/a" 24M
        wait_for 20 grep -q "level=threshold" "$work/client-a1.out" || fail "a1 heard nothing of a's 16M"
        wait_for 20 grep -q "threshold=16777216" "$work/client-a2.out" || fail "a2 heard nothing of a's 16M"
        fill "$root/a" 96M
        wait_for 20 grep -q "threshold=$((80 * MiB))" "$work/client-a2.out" || fail "a2 heard nothing of its own 80M"
        sleep 0.5

        [[ $(lines a1 "threshold=$((80 * MiB))") -eq 0 ]] || fail "a1 was told of a2's own threshold"
        [[ $(lines a1 "threshold=16777216") -eq 2 ]] || fail "a1: expected 2 notices at 16M, got $(lines a1 threshold=16777216)"
        [[ $(lines b "level=") -eq 0 ]] || fail "b was told of a's crossings"
        [[ $(lines outside "level=") -eq 0 ]] || fail "a client in no followed group was told"
        grep -q "^closed" "$work/client-outside.out" && fail "a client in no followed group was closed, not kept silent"
        grep -Eq "^memqos level=threshold usage=[0-9]+ limit=268435456 threshold=16777216 want=[0-9]+$" \
                "$work/client-a1.out" || fail "notice line not as documented: $(head -n1 "$work/client-a1.out")"
        grep "MESSAGE_ID=$MSG_NOTIFIED" "$log" | grep "MEMQOS_THRESHOLD_BYTES=16777216" | grep -q "MEMQOS_CLIENTS=2" ||
                fail "no NOTIFIED event with 2 clients told"
        grep "MESSAGE_ID=$MSG_NOTIFIED" "$log" | grep "MEMQOS_THRESHOLD_BYTES=$((80 * MiB))" | grep -q "MEMQOS_CLIENTS=1" ||
                fail "no NOTIFIED event with 1 client told of the registered threshold"
        # b crossed nothing: no event names it.
        grep "MESSAGE_ID=$MSG_NOTIFIED" "$log" | grep -q "MEMQOS_CGROUP=/$top/b" && fail "NOTIFIED for b"
        if [[ -n $bus_pid ]]; then
                # every notice a's clients read was one sent; b's none
                told=$(($(lines a1 "level=") + $(lines a2 "level=")))
                wait_for 10 "$ctl" status >/dev/null 2>&1 || fail "memqosctl status does not answer"
                "$ctl" list --json=short | python3 -c "
import json, sys
units = {u['unit']: u for u in json.load(sys.stdin)}
a, b = units['/$top/a'], units['/$top/b']
assert a['notices_sent'] == $told, ('a', a['notices_sent'], $told)
assert b['notices_sent'] == 0, ('b', b['notices_sent'])
" || fail "memqosctl list: notices_sent is not the $told notices a's clients read and 0 for b"
                "$ctl" metrics | grep -qx "memqos_notices_total{unit=\"/$top/a\",kind=\"group\"} $told" ||
                        fail "metrics: no memqos_notices_total of $told for a: $("$ctl" metrics | grep notices)"
                echo "notice: $told notices sent to a's clients, 0 to b's, in memqosctl list and the metrics"
        fi
        echo "notice: ok"
        ;;
abuse)
        cat >"$work/memqos.conf" <<CONF
[Group /$top/a]
NoticeThresholds=16M
[Notify]
ClientsPerUnitMax=50
CONF
        start_daemon
        start_client good "$root/a" listen
        start_client deaf "$root/a" noread
        start_client bad1 "$root/a" listen 'hello\n'
        start_client bad2 "$root/a" listen 'threshold 0\n'
        start_client bad3 "$root/a" listen 'threshold 1M\nthreshold 2M\nthreshold 3M\nthreshold 4M\nthreshold 5M\n'
        start_client big "$root/a" big 1048576
        for c in bad1 bad2 bad3; do
                wait_for 10 grep -q "^closed" "$work/client-$c.out" || fail "bad registration of $c not closed"
        done
        grep -q "^closed after" "$work/client-big.out" || fail "1 MB write: $(cat "$work/client-big.out")"
        written=$(sed -n 's/^closed after //p' "$work/client-big.out")
        ((written < MiB)) || fail "memqosd read the whole 1 MB before closing"

        # 1,000 connections from a process in no followed group, then 1,000 from
        # group a: the bound holds each at 50 (in a: 48 more, beside good and deaf).
        start_client flood-outside - flood 1000
        flood_outside=$!
        start_client flood-a "$root/a" flood 1000
        flood_a=$!
        grep -q "^held 50$" "$work/client-flood-outside.out" ||
                fail "outside flood: $(cat "$work/client-flood-outside.out"), expected 50 held"
        grep -q "^held 48$" "$work/client-flood-a.out" ||
                fail "flood in a: $(cat "$work/client-flood-a.out"), expected 48 held"
        kill "$flood_outside" "$flood_a"
        sleep 1 # memqosd sees them go
        grep -q "refused the registration" "$log" || fail "no warning about the bad registration"

        # The deaf client gets a dozen notices or so into its socket, then its queue
        # fills and the rest are dropped; memqosd goes on telling the one that reads.
        start_client lat "$root/a" crossings 50 $((24 * MiB))
        wait_for 120 bash -c "[[ \$(grep -c '^[0-9]' '$work/client-lat.out') -ge 50 ]] || grep -q 'timeout\\|closed' '$work/client-lat.out'" ||
                fail "crossings did not finish"
        grep -q timeout "$work/client-lat.out" && fail "a notice did not come within 10 s"
        grep -q "does not read its notices" "$log" || fail "nothing dropped for the client that does not read"
        [[ $(lines good "level=threshold") -ge 50 ]] || fail "good heard $(lines good level=threshold) of 50"
        kill -0 "$daemon" || fail "memqosd died"
        sort -n "$work/client-lat.out" | grep '^[0-9]' >"$work/lat"
        n=$(wc -l <"$work/lat")
        echo "notice latency, allocation done to notice read (us), $n crossings:" \
             "p50 $(sed -n "$(( (n + 1) / 2 ))p" "$work/lat") p99 $(sed -n "$(( (n * 99 + 99) / 100 ))p" "$work/lat")"
        echo "abuse: ok"
        ;;
restart)
        cat >"$work/memqos.conf" <<CONF
[Group /$top/a]
NoticeThresholds=16M
CONF
        start_daemon
        kill -KILL "$daemon"
        wait "$daemon" 2>/dev/null
        daemon=
        test -S "$sock" || fail "the killed memqosd left no socket (nothing to test)"
        start_daemon
        grep -q "Cannot listen on the pressure socket" "$log" && fail "the stale socket stopped the new memqosd"
        start_client a "$root/a" listen
        sleep 0.5
        fill "$root/a" 24M
        wait_for 20 grep -q "level=threshold" "$work/client-a.out" || fail "no notice after the restart"
        kill -TERM "$daemon"
        wait "$daemon" 2>/dev/null
        daemon=
        test -e "$sock" && fail "a clean stop left the socket"
        echo "restart: ok"
        ;;
ladder-reclaim-free|ladder-reclaim-keep|ladder-reclaim-nobody|ladder-reclaim-order)
        # 256M, watermarks 80% with the widest gap: high 204.8M, low 179.2M.
        # high reads 100M of page cache, low's client holds 60M of anonymous
        # memory and low reads 60M: 220M, past wmark_high, short of the limit.
        # What reclaim must take (~41M down to wmark_low) low's cache has: only
        # low is told, high never.
        data=$(mktemp -d /var/tmp/memqos-test-ladder.XXXXXX)
        make_file "$data/high.data" 100
        make_file "$data/low.data" 60
        ladder_setup $((256 * MiB)) "[Group /$top]
WatermarkRatio=80
WatermarkScaleFactor=1000
[Notify]
ReclaimGraceSec=1s"
        LOW=$((256 * MiB * 80 / 100 - 256 * MiB * 1000 / 10000))
        how=keep
        [[ $case_name == ladder-reclaim-free ]] && how=free
        if [[ $case_name == ladder-reclaim-nobody ]]; then
                # Nobody listens in low: reclaim does not wait, and says no grace.
                run_in "$root/low" stress-ng --vm 1 --vm-bytes 60M --vm-keep --timeout 30s --quiet &
                clients+=($!)
                wait_for 10 bash -c "(( \$(cat '$root/low/memory.usage_in_bytes') >= 55 * $MiB ))" ||
                        fail "low's stress-ng did not take its 60M"
                read_in "$root/high" "$data/high.data"
                read_in "$root/low" "$data/low.data"
                wait_for 20 grep -q "MESSAGE_ID=$MSG_RECLAIM" "$log" || fail "no reclaim"
                sleep 1.5 # a grace of 1 s would have ended
                [[ $(line_of "$MSG_NOTIFIED") -eq 0 ]] || fail "a notice with nobody to tell: $(events "$MSG_NOTIFIED")"
                [[ $(line_of "$MSG_GRACE_ENDED") -eq 0 ]] || fail "a grace with nobody told: $(events "$MSG_GRACE_ENDED")"
                [[ $(lines high "level=") -eq 0 ]] || fail "high's client was told: $(grep level= "$work/client-high.out")"
                events "$MSG_RECLAIM" | grep -q "/$top/high:" && fail "reclaim took from high"
                echo "$case_name: reclaimed $(field "$(events "$MSG_RECLAIM" | head -n 1)" MEMQOS_RECLAIMED_BYTES) bytes without a notice or a grace"
                echo "$case_name: ok"
                exit 0
        fi
        if [[ $case_name == ladder-reclaim-order ]]; then
                # low: its client's 60M (kept) and 10M of cache; high: 150M of
                # cache. Of the ~41M reclaim needs, low can give 10M: high is
                # told too, after low, for the rest.
                make_file "$data/low-small.data" 10
                make_file "$data/high-big.data" 150
                start_client low "$root/low" hold $((60 * MiB)) keep
                read_in "$root/low" "$data/low-small.data"
                read_in "$root/high" "$data/high-big.data"
                wait_for 20 grep -q "^memqos level=reclaim " "$work/client-high.out" || fail "high's client was not told"
                grep -q "^memqos level=reclaim " "$work/client-low.out" || fail "low's client was not told"
                wait_for 20 grep -q "MESSAGE_ID=$MSG_RECLAIM" "$log" || fail "no reclaim after the grace"
                low_n=$(events "$MSG_NOTIFIED" | grep -n "MEMQOS_CGROUP=/$top/low " | head -n 1)
                high_n=$(events "$MSG_NOTIFIED" | grep -n "MEMQOS_CGROUP=/$top/high " | head -n 1)
                [[ -n $low_n && -n $high_n && ${low_n%%:*} -lt ${high_n%%:*} ]] ||
                        fail "NOTIFIED not low first, then high: $(events "$MSG_NOTIFIED")"
                low_want=$(field "$low_n" MEMQOS_WANT_BYTES) high_want=$(field "$high_n" MEMQOS_WANT_BYTES)
                ((low_want <= 11 * MiB)) || fail "low asked $low_want, more than its 10M of cache"
                grace=$(events "$MSG_GRACE_ENDED" | head -n 1)
                ((high_want < $(field "$grace" MEMQOS_WANT_BYTES))) || fail "high asked all that is wanted: $high_want"
                echo "$case_name: low asked $low_want, then high $high_want; $(field "$grace" MEMQOS_CLIENTS) clients told"
                echo "$case_name: ok"
                exit 0
        fi
        start_client low "$root/low" hold $((60 * MiB)) $how
        read_in "$root/high" "$data/high.data"
        read_in "$root/low" "$data/low.data"
        wait_for 20 grep -q "^memqos level=reclaim " "$work/client-low.out" || fail "low's client was not told of the reclaim"
        wait_for 20 grep -q "MESSAGE_ID=$MSG_GRACE_ENDED" "$log" || fail "no GRACE_ENDED event"
        sleep 1 # any pass after the grace
        grep -Eq "^memqos level=reclaim usage=[0-9]+ limit=$((256 * MiB)) threshold=[0-9]+ want=[1-9][0-9]*$" \
                "$work/client-low.out" || fail "reclaim notice line not as documented: $(grep level= "$work/client-low.out")"
        notified=$(events "$MSG_NOTIFIED" | grep "MEMQOS_NOTICE_LEVEL=reclaim" | head -n 1)
        [[ $(field "$notified" MEMQOS_CGROUP) == "/$top/low" && $(field "$notified" MEMQOS_CLIENTS) == 1 ]] ||
                fail "no NOTIFIED event of level reclaim for low's 1 client: $notified"
        [[ $(lines high "level=") -eq 0 ]] || fail "high's client was told: $(grep level= "$work/client-high.out")"
        grace=$(events "$MSG_GRACE_ENDED" | head -n 1)
        given=$(field "$grace" MEMQOS_GIVEN_BACK_BYTES)
        reclaimed=0
        while read -r l; do
                [[ -n $l ]] && reclaimed=$((reclaimed + $(field "$l" MEMQOS_RECLAIMED_BYTES)))
        done <<<"$(events "$MSG_RECLAIM")"
        if [[ $how == free ]]; then
                grep -q "^freed" "$work/client-low.out" || fail "the client did not free"
                [[ $(field "$grace" MEMQOS_NEXT) == nothing-left ]] || fail "not nothing-left after the grace: $grace"
                # all it was asked for (its 60M less what low's reader charged meanwhile)
                ((given >= $(field "$grace" MEMQOS_WANT_BYTES))) || fail "given back $given, less than asked: $grace"
                [[ $(line_of "$MSG_RECLAIM") -eq 0 ]] || fail "memqosd reclaimed although the client gave enough back"
                (($(cache_of "$root/low") >= 55 * MiB)) || fail "low's page cache was taken: $(cache_of "$root/low")"
        else
                [[ $(field "$grace" MEMQOS_NEXT) == reclaim-rest ]] || fail "not reclaim-rest after the grace: $grace"
                [[ $(line_of "$MSG_RECLAIM") -gt $(line_of "$MSG_GRACE_ENDED") ]] ||
                        fail "no reclaim pass after the grace (or one before it)"
                ((reclaimed > 0)) || fail "nothing reclaimed"
                events "$MSG_RECLAIM" | grep -q "/$top/high:" && fail "reclaim took from high"
        fi
        (($(cat "$root/memory.usage_in_bytes") < LOW)) || fail "usage $(cat "$root/memory.usage_in_bytes") not below wmark_low $LOW"
        echo "$case_name: low's client read: $(grep '^memqos level=' "$work/client-low.out" | head -n 1)"
        echo "$case_name: told 1 client in low ($(field "$notified" MEMQOS_WANT_BYTES) bytes wanted), given back $given" \
             "within $(field "$grace" MEMQOS_GRACE_USEC) us, then reclaimed $reclaimed bytes"
        echo "$case_name: ok"
        ;;
ladder-kill-free|ladder-kill-keep)
        # 512M with the priority kill at 80%: 409.6M. low's client holds 200M,
        # high takes 250M: 450M of anonymous memory, past the kill watermark,
        # short of the limit. low's client is the one the kill would take.
        ladder_setup $((512 * MiB)) "[Group /$top]
UsePriorityOOM=yes
[OOM]
KillWatermarkRatio=80
[Notify]
KillGraceSec=1s"
        how=keep
        [[ $case_name == ladder-kill-free ]] && how=free
        start_client low "$root/low" hold $((200 * MiB)) $how
        low_pid=${clients[-1]}
        run_in "$root/high" stress-ng --vm 1 --vm-bytes 250M --vm-keep --timeout 20s --quiet &
        clients+=($!)
        wait_for 30 grep -q "^memqos level=kill " "$work/client-low.out" || fail "low's client was not told it is next"
        wait_for 20 grep -q "MESSAGE_ID=$MSG_GRACE_ENDED" "$log" || fail "no GRACE_ENDED event"
        sleep 1 # the kill, if any, after the grace
        grace=$(events "$MSG_GRACE_ENDED" | head -n 1)
        given=$(field "$grace" MEMQOS_GIVEN_BACK_BYTES)
        notified=$(events "$MSG_NOTIFIED" | grep "MEMQOS_NOTICE_LEVEL=kill" | head -n 1)
        [[ $(field "$notified" MEMQOS_CGROUP) == "/$top/low" && $(field "$notified" MEMQOS_CLIENTS) == 1 ]] ||
                fail "no NOTIFIED event of level kill for low's 1 client: $notified"
        [[ $(lines high "level=") -eq 0 ]] || fail "high's client was told: $(grep level= "$work/client-high.out")"
        if [[ $how == free ]]; then
                grep -q "^freed" "$work/client-low.out" || fail "the client did not free"
                [[ $(field "$grace" MEMQOS_NEXT) == no-kill ]] || fail "not no-kill after the grace: $grace"
                ((given >= 150 * MiB)) || fail "given back $given, not the client's 200M: $grace"
                [[ $(line_of "$MSG_PRIORITY_KILL") -eq 0 ]] || fail "somebody was killed: $(events "$MSG_PRIORITY_KILL")"
                kill -0 "$low_pid" || fail "low's client is gone"
        else
                [[ $(field "$grace" MEMQOS_NEXT) == kill ]] || fail "not kill after the grace: $grace"
                wait_for 10 grep -q "MESSAGE_ID=$MSG_PRIORITY_KILL" "$log" || fail "nobody killed after the grace"
                [[ $(line_of "$MSG_PRIORITY_KILL") -gt $(line_of "$MSG_GRACE_ENDED") ]] || fail "killed before the grace ended"
                events "$MSG_PRIORITY_KILL" | head -n 1 | grep -q "MEMQOS_VICTIM_PID=$low_pid" ||
                        fail "the victim is not low's client: $(events "$MSG_PRIORITY_KILL" | head -n 1)"
        fi
        [[ $(sed -n 's/^oom_kill //p' "$root/memory.oom_control") -eq 0 ]] || fail "the kernel's OOM killer had to act"
        echo "$case_name: low's client read: $(grep '^memqos level=' "$work/client-low.out" | head -n 1)"
        echo "$case_name: told low's client it is next ($(field "$notified" MEMQOS_WANT_BYTES) bytes wanted), given back" \
             "$given within $(field "$grace" MEMQOS_GRACE_USEC) us: $(field "$grace" MEMQOS_NEXT)"
        echo "$case_name: ok"
        ;;
*)
        echo "unknown case $case_name"
        exit 2
        ;;
esac
exit 0
