#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# memqosd itself, in the foreground (--no-systemd, events on stderr), against
# this machine's real cgroup v1 memory controller: [Group] rules, discovery,
# thresholds and OOMs, read back from the daemon's own output.
#
#   test-daemon.sh MEMQOSD CASE     CASE: groups | burst | thresholds | oom | oom-unfollowed | bad-rules |
#                                         config-reload | startup | churn | backends | state-dir-foreign | state-stale | fds
#
# Exit 0 pass, 1 fail, 77 skip (no root / no v1 memory hierarchy).
set -uo pipefail

# shellcheck source=tests/host/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

memqosd=$1
case_name=$2
require_root_and_v1

top=memqos-test-$$-daemon
root=$v1/$top
work=$(mktemp -d /tmp/memqos-test-daemon.XXXXXX)
log=$work/memqosd.log
daemon=

MSG_POLICY=4817973db7494c288d1b11496cabc3fb
MSG_THRESHOLD=916c163d02074225b93312a683ee9a6f
MSG_OOM=35b4eb409a8449a1ae2fbd47d9263a40
MSG_OOM_KILL=60bd26598cb147faaaf12615974afc84
MSG_CONFIG_INVALID=93f4be92d82740038a459684c2a374e1
MSG_BACKEND=b170d7eae06c4c1180499c441bae1148
MSG_MISSING=2005f7750bbf40d68e14cda14e1d0eea

cleanup() {
        [[ -n $daemon ]] && kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null
        remove_tree "$root"
        rm -rf "$work"
}
trap cleanup EXIT

fail() {
        echo "FAIL: $*"
        echo "--- memqosd output (last 40 lines):"
        tail -n 40 "$log" 2>/dev/null
        exit 1
}

start_daemon() {
        # emptied here, not by the launch's redirection, which may come after
        # wait_for's first look (a restart would find the last run's line)
        : >"$log"
        "$memqosd" --no-systemd --log-target=stderr --config="$work/memqos.conf" \
                --state-dir="$work/state" 2>"$log" &
        daemon=$!
        wait_for 10 grep -q "started:" "$log" || fail "memqosd did not start"
}

state_file() { # cgroup path below the v1 root -> state file
        local p=${1#/}
        p=${p//-/\\x2d}
        echo "$work/state/groups/${p//\//-}"
}

count_lines() { grep -c -- "$1" "$log"; }

mkdir -p "$root"

case $case_name in
groups)
        mkdir -p "$root/batch/early" "$root/web"
        cat >"$work/memqos.conf" <<CONF
[Group /$top/batch/*]
MemoryPriority=1
[Group /$top/web]
MemoryPriority=10
[Group /$top/deep/**]
WatermarkRatio=70
CONF
        start_daemon
        [[ -e $(state_file "/$top/batch/early") ]] || fail "a group made before start is not followed"
        grep -q "^MEMORY_PRIORITY=10$" "$(state_file "/$top/web")" || fail "web: priority 10 not desired"

        mkdir "$root/batch/late"
        wait_for 5 test -e "$(state_file "/$top/batch/late")" || fail "a group made after start is not followed"
        grep -q "^MEMORY_PRIORITY_STATE=emulated$" "$(state_file "/$top/batch/late")" ||
                fail "the stock kernel's missing memory.priority is not left to memqosd's emulation"
        grep -q "^SOURCES=$work/memqos.conf:1$" "$(state_file "/$top/batch/late")" || fail "the rule is not named"

        mkdir -p "$root/deep/a/b/c"
        for p in deep deep/a deep/a/b deep/a/b/c; do
                wait_for 5 test -e "$(state_file "/$top/$p")" || fail "/** does not reach $p"
        done
        # /batch is followed, but only as the parent of the prioritized groups
        # (ParentUsePriorityOOM=): no rule's key is in force there.
        wait_for 5 grep -q "^USE_PRIORITY_OOM=1$" "$(state_file "/$top/batch")" ||
                fail "/batch is not followed as the parent of groups with MemoryPriority="
        grep -q "^MEMORY_PRIORITY=$" "$(state_file "/$top/batch")" || fail "/batch/* matched /batch itself"

        rmdir "$root/deep/a/b/c" "$root/deep/a/b"
        wait_for 5 test ! -e "$(state_file "/$top/deep/a/b/c")" || fail "a removed group keeps its state"
        wait_for 5 test ! -e "$(state_file "/$top/deep/a/b")" || fail "a removed group keeps its state"
        grep -q "MESSAGE_ID=$MSG_POLICY MEMQOS_CGROUP=/$top/batch/late" "$log" || fail "no policy event for the group"
        echo "groups: ok"
        ;;
burst)
        cat >"$work/memqos.conf" <<CONF
[Group /$top/pods/*/*]
MemoryPriority=2
CONF
        mkdir "$root/pods"
        start_daemon
        t0=$(date +%s.%N)
        for i in $(seq 20); do
                mkdir "$root/pods/p$i"
                mkdir "$root/pods/p$i"/c{1..100}
        done
        t1=$(date +%s.%N)
        # 2000 groups, and their 20 parents: no rule matches them, but they
        # are followed as the parents of groups with MemoryPriority=.
        want=2020
        wait_for 60 bash -c "[[ \$(ls '$work/state/groups' | grep -c '^memqos') -ge $want ]]" ||
                fail "only $(ls "$work/state/groups" | wc -l) of $want groups reached"
        t2=$(date +%s.%N)
        n=$(ls "$work/state/groups" | grep -c "^memqos")
        [[ $n -eq $want ]] || fail "$n groups followed, $want expected"
        printf 'burst: 2000 cgroups (+20 parents) made in %.2f s, all followed %.3f s after the last mkdir\n' \
                "$(echo "$t1 - $t0" | bc)" "$(echo "$t2 - $t1" | bc)"
        for i in $(seq 20); do rmdir "$root/pods/p$i"/c[0-9]* "$root/pods/p$i"; done
        wait_for 60 bash -c "[[ \$(ls '$work/state/groups' | wc -l) -eq 0 ]]" ||
                fail "$(ls "$work/state/groups" | wc -l) groups left after removal"
        echo "burst: ok"
        ;;
thresholds)
        mkdir "$root/job"
        echo 128M >"$root/job/memory.limit_in_bytes"
        cat >"$work/memqos.conf" <<CONF
[Group /$top/job]
MemoryThresholds=16M 50%
[Events]
EventRateLimitBurst=0
CONF
        # stress-ng's own pages are charged to the cgroup that first reads them
        # and stay there after it exits: read them here, outside the cgroup
        # (another test's drop_caches may just have evicted them).
        cat "$(command -v stress-ng)" >/dev/null
        stress-ng --vm 1 --vm-bytes 1M --timeout 1s --quiet
        start_daemon
        wait_for 5 test -e "$(state_file "/$top/job")" || fail "group not followed"
        sleep 0.5
        events() { grep "MESSAGE_ID=$MSG_THRESHOLD" "$log" | grep "MEMQOS_THRESHOLD_BYTES=$1" | grep -c "DIRECTION=$2"; }

        # 24 MiB (about 34 MiB with stress-ng itself): up across 16M only, then
        # down again when it exits.
        run_in "$root/job" stress-ng --vm 1 --vm-bytes 24M --vm-keep --timeout 3s --quiet
        wait_for 30 grep -q "MEMQOS_DIRECTION=down" "$log" || fail "no downward crossing"
        sleep 0.5
        [[ $(events 16777216 up) -eq 1 && $(events 16777216 down) -eq 1 && $(events 67108864 up) -eq 0 ]] ||
                fail "expected exactly 16M up and down, nothing at 64M (50%);" \
                     "saw up=$(events 16777216 up) down=$(events 16777216 down) 64M=$(events 67108864 up)"
        grep "MESSAGE_ID=$MSG_THRESHOLD" "$log" | grep -q "MEMQOS_LIMIT_BYTES=134217728" || fail "limit missing in the event"

        # 72 MiB: up across 16M and 64M, in that order, then down in reverse.
        run_in "$root/job" stress-ng --vm 1 --vm-bytes 72M --vm-keep --timeout 3s --quiet
        wait_for 30 bash -c "[[ \$(grep 'MEMQOS_THRESHOLD_BYTES=16777216' '$log' | grep -c DIRECTION=down) -ge 2 ]]" ||
                fail "no second downward crossing of 16M"
        sleep 0.5
        order=$(grep "MESSAGE_ID=$MSG_THRESHOLD" "$log" | tail -n 4 |
                sed -E 's/.*MEMQOS_THRESHOLD_BYTES=([0-9]+).*MEMQOS_DIRECTION=([a-z]+).*/\1:\2/' | tr '\n' ' ')
        [[ $order == "16777216:up 67108864:up 67108864:down 16777216:down " ]] ||
                fail "crossings out of order: $order"

        # The limit moves and memqosd is told (SIGHUP): 50% follows it to 128M.
        echo 256M >"$root/job/memory.limit_in_bytes"
        kill -HUP "$daemon"
        sleep 1
        run_in "$root/job" stress-ng --vm 1 --vm-bytes 72M --vm-keep --timeout 3s --quiet
        wait_for 30 bash -c "[[ \$(grep 'MEMQOS_THRESHOLD_BYTES=16777216' '$log' | grep -c DIRECTION=down) -ge 3 ]]" ||
                fail "no third downward crossing of 16M"
        [[ $(events 67108864 up) -eq 1 ]] || fail "50% still at 64M after the limit doubled"
        echo "thresholds: ok"
        ;;
oom)
        mkdir "$root/small"
        echo 32M >"$root/small/memory.limit_in_bytes"
        cat >"$work/memqos.conf" <<CONF
[Group /$top/small]
MemoryPriority=3
CONF
        start_daemon
        wait_for 5 test -e "$(state_file "/$top/small")" || fail "group not followed"
        sleep 0.5
        run_in "$root/small" stress-ng --vm 1 --vm-bytes 64M --vm-keep --oomable --timeout 10s --quiet
        wait_for 10 grep -q "MESSAGE_ID=$MSG_OOM_KILL" "$log" || fail "no OOM-kill event"
        wait_for 10 grep -q "MESSAGE_ID=$MSG_OOM " "$log" || fail "no OOM event"
        kill_line=$(grep "MESSAGE_ID=$MSG_OOM_KILL" "$log" | head -n 1)
        [[ $kill_line == *"MEMQOS_VICTIM_COMM=stress-ng"* ]] || fail "victim's name missing: $kill_line"
        [[ $kill_line == *"MEMQOS_VICTIM_CGROUP=/$top/small"* ]] || fail "victim's cgroup missing: $kill_line"
        [[ $kill_line == *"MEMQOS_OOM_CGROUP=/$top/small"* ]] || fail "OOM cgroup missing: $kill_line"
        [[ $kill_line == *"MEMQOS_PRIORITY=3"* ]] || fail "victim's priority missing: $kill_line"
        [[ $kill_line == *"MEMQOS_LIMIT_BYTES=33554432"* ]] || fail "limit missing: $kill_line"
        grep "MESSAGE_ID=$MSG_OOM " "$log" | grep -q "MEMQOS_CGROUP=/$top/small" || fail "OOM event without its cgroup"
        echo "oom: ok"
        ;;
oom-unfollowed)
        # WatchOOM= reports the OOM kills of the cgroups memqosd follows, not
        # those of the rest of the host: first a kill in a sibling no rule
        # matches, then one in the followed group; kmsg is read in order, so
        # once the second is reported the first would have been.
        mkdir "$root/followed" "$root/other"
        echo 32M >"$root/followed/memory.limit_in_bytes"
        echo 32M >"$root/other/memory.limit_in_bytes"
        cat >"$work/memqos.conf" <<CONF
[Group /$top/followed]
MemoryThresholds=90%
CONF
        start_daemon
        wait_for 5 test -e "$(state_file "/$top/followed")" || fail "group not followed"
        sleep 0.5
        run_in "$root/other" stress-ng --vm 1 --vm-bytes 64M --vm-keep --oomable --timeout 10s --quiet
        [[ $(sed -n 's/^oom_kill //p' "$root/other/memory.oom_control") -ge 1 ]] || fail "no OOM kill in /other"
        run_in "$root/followed" stress-ng --vm 1 --vm-bytes 64M --vm-keep --oomable --timeout 10s --quiet
        wait_for 10 grep -q "MESSAGE_ID=$MSG_OOM_KILL.*MEMQOS_VICTIM_CGROUP=/$top/followed" "$log" ||
                fail "no OOM-kill event for the followed group"
        ! grep -q "MESSAGE_ID=$MSG_OOM_KILL.*MEMQOS_VICTIM_CGROUP=/$top/other" "$log" ||
                fail "an OOM kill in a cgroup no rule follows was reported"
        echo "oom-unfollowed: ok"
        ;;
bad-rules)
        mkdir -p "$root/a" "$work/memqos.conf.d"
        cat >"$work/memqos.conf" <<CONF
[Group /$top/a]
MemoryPriority=13
WatermarkRatio=50
CONF
        printf '[Group /%s/a]\nWatermarkRatio=abc\nBogus=1\n' "$top" >"$work/memqos.conf.d/10-bad.conf"
        start_daemon
        wait_for 5 test -e "$(state_file "/$top/a")" || fail "group not followed"
        grep -q "MESSAGE_ID=$MSG_CONFIG_INVALID.*MEMQOS_FILE=$work/memqos.conf MEMQOS_LINE=2 MEMQOS_KEY=MemoryPriority" "$log" ||
                fail "no file:line warning for MemoryPriority=13"
        grep -q "MESSAGE_ID=$MSG_CONFIG_INVALID.*MEMQOS_FILE=$work/memqos.conf.d/10-bad.conf MEMQOS_LINE=2" "$log" ||
                fail "no file:line warning for WatermarkRatio=abc in the drop-in"
        grep -q "MEMQOS_LINE=3 MEMQOS_KEY=Bogus" "$log" || fail "no warning for the unknown key"
        grep -q "^WATERMARK_RATIO=50$" "$(state_file "/$top/a")" || fail "the valid key is not in force"
        grep -q "^MEMORY_PRIORITY=$" "$(state_file "/$top/a")" || fail "the invalid priority leaked into the state"
        kill -0 "$daemon" || fail "memqosd died"
        echo "bad-rules: ok"
        ;;
config-reload)
        hups=0 # SIGHUPs sent, each to end in one summary line
        hup() { kill -HUP "$daemon"; hups=$((hups + 1)); }
        # LogLevel=debug in force shows as a debug line on each SIGHUP.
        debug_rereads() { grep -c "^debug .*Re-reading" "$log"; }
        reload_logs_debug() {
                local n
                n=$(debug_rereads)
                hup
                wait_for 30 bash -c "[[ \$(grep -c '^debug .*Re-reading' '$log') -gt $n ]]"
        }
        reload_is_quiet() { # the first SIGHUP may still be at the old level
                local n
                hup
                sleep 1
                n=$(debug_rereads)
                hup
                sleep 1
                [[ $(debug_rereads) -eq $n ]]
        }
        # reload_refused WHERE KEY: a SIGHUP gives one error naming WHERE
        # (file:line) and KEY, and keeps the configuration in force.
        reload_refused() {
                local line
                hup
                wait_for 5 grep -q "MESSAGE_ID=$MSG_CONFIG_INVALID.*MEMQOS_KEY=$2" "$log" || fail "no error for $2="
                line=$(grep "MESSAGE_ID=$MSG_CONFIG_INVALID.*MEMQOS_KEY=$2" "$log" | head -n 1)
                [[ $line == *"$1:"* && $line == *"keeping the configuration in force"* ]] ||
                        fail "the error does not name $1 and $2=, or does not keep the configuration: $line"
        }

        printf '[Daemon]\nLogLevel=debug\n' >"$work/memqos.conf"
        start_daemon
        reload_logs_debug || fail "LogLevel=debug not in force"

        # A bad line: the whole new configuration is refused, the old stays.
        printf '[Daemon]\nLogLevel=info\nBackend=sometimes\n' >"$work/memqos.conf"
        reload_refused "$work/memqos.conf:3" Backend
        reload_logs_debug || fail "LogLevel=info of the refused file came into force"

        # Corrected: now it takes.
        printf '[Daemon]\nLogLevel=info\n' >"$work/memqos.conf"
        reload_is_quiet || fail "the corrected LogLevel=info is not in force"

        # A drop-in in memqos.conf.d/ wins over memqos.conf.
        mkdir "$work/memqos.conf.d"
        printf '[Daemon]\nLogLevel=debug\n' >"$work/memqos.conf.d/50-debug.conf"
        reload_logs_debug || fail "the drop-in's LogLevel=debug is not in force"
        # A bad line in a later drop-in: named by its file and line, and the
        # configuration in force (debug) stays.
        printf '[Daemon]\nLogLevel=info\n\n[OOM]\nKillWatermarkRatio=101\n' >"$work/memqos.conf.d/60-bad.conf"
        reload_refused "$work/memqos.conf.d/60-bad.conf:5" KillWatermarkRatio
        reload_logs_debug || fail "LogLevel=info of the refused drop-in came into force"
        # Both gone: memqos.conf's LogLevel=info again.
        rm "$work/memqos.conf.d/50-debug.conf" "$work/memqos.conf.d/60-bad.conf"
        reload_is_quiet || fail "LogLevel=info is not back without the drop-ins"

        # Settings and [Group] rules are one configuration: a bad LogLevel=
        # refuses the new rules too, and the groups in force stay followed.
        mkdir -p "$root/a" "$root/b"
        printf '[Daemon]\nLogLevel=info\n[Group /%s/a]\nMemoryPriority=3\n' "$top" >"$work/memqos.conf"
        hup
        wait_for 10 test -e "$(state_file "/$top/a")" || fail "the rule for /a did not take"
        printf '[Daemon]\nLogLevel=loud\n[Group /%s/b]\nMemoryPriority=4\n' "$top" >"$work/memqos.conf"
        hup
        wait_for 10 bash -c "grep -q MEMQOS_RELOAD=refused '$log' || test -e '$(state_file "/$top/b")'"
        [[ ! -e $(state_file "/$top/b") ]] || fail "a refused reload installed its new [Group] rule"
        [[ -e $(state_file "/$top/a") ]] || fail "a refused reload forgot the group of the rule in force"
        grep -q "MEMQOS_RELOAD=refused.*MEMQOS_FILE=$work/memqos.conf MEMQOS_LINE=2" "$log" ||
                fail "no summary saying the reload was refused because of memqos.conf:2"

        # Every reload ends in one summary line.
        wait_for 10 bash -c "[[ \$(grep -c 'MEMQOS_RELOAD=' '$log') -ge $hups ]]"
        [[ $(count_lines "MEMQOS_RELOAD=") -eq $hups ]] ||
                fail "$(count_lines "MEMQOS_RELOAD=") reload summaries for $hups reloads"
        kill -0 "$daemon" || fail "memqosd died"
        echo "config-reload: ok"
        ;;
churn)
        # Cgroups made and removed by the hundred (pods) give a bounded number
        # of lines: past the event rate limit the policies of new groups are
        # said as a sum, and every group is in a line or in a sum.
        cat >"$work/memqos.conf" <<CONF
[Group /$top/pods/*]
MemoryPriority=2
[Events]
EventRateLimitIntervalSec=2s
EventRateLimitBurst=5
CONF
        mkdir "$root/pods"
        start_daemon
        before=$(wc -l <"$log")
        t0=$(date +%s)
        n=300
        for i in $(seq $n); do mkdir "$root/pods/p$i"; done
        wait_for 60 bash -c "[[ \$(ls '$work/state/groups' | grep -c pods) -ge $n ]]" || fail "not all $n groups followed"
        for i in $(seq $n); do rmdir "$root/pods/p$i"; done
        wait_for 60 bash -c "[[ \$(ls '$work/state/groups' | grep -c pods) -eq 0 ]]" || fail "groups left after removal"
        said() { # groups said one by one, plus those said in sums
                local one sum
                one=$(grep -c "MESSAGE_ID=$MSG_POLICY MEMQOS_CGROUP=/$top/pods/" "$log")
                sum=$(grep -o "MEMQOS_FOLDED=[0-9]*" "$log" | cut -d= -f2 | paste -sd+ | bc)
                echo $((one + ${sum:-0}))
        }
        # the last sum comes at most one interval (2 s) after the last fold
        for _ in $(seq 100); do
                (($(said) >= n)) && break
                sleep 0.1
        done
        t1=$(date +%s)
        [[ $(said) -eq $n ]] || fail "$(said) of $n groups said, one by one or in a sum"
        lines=$(($(wc -l <"$log") - before))
        # per 2 s: at most 5 groups and one sum; and the interval the churn
        # began and ended in
        max=$((6 * ((t1 - t0) / 2 + 2)))
        ((lines <= max)) || fail "$lines lines for $n groups made and removed in $((t1 - t0)) s (at most $max)"
        echo "churn: $n groups made and removed, $lines lines in $((t1 - t0)) s"
        echo "churn: ok"
        ;;
startup)
        # A --config given on the command line must exist: a typo is an error
        # at start, not a daemon following nothing.
        timeout 10 "$memqosd" --no-systemd --log-target=stderr --config="$work/no-such.conf" \
                --state-dir="$work/state" 2>"$log"
        rc=$?
        ((rc != 0 && rc != 124)) || fail "a missing --config did not stop memqosd (exit $rc)"
        grep -q "$work/no-such.conf" "$log" || fail "the error does not name the missing --config"

        # A missing --cgroup-root is said once.
        printf '[Daemon]\nLogLevel=info\n' >"$work/memqos.conf"
        : >"$log"
        "$memqosd" --no-systemd --log-target=stderr --config="$work/memqos.conf" \
                --cgroup-root="$work/no-such-root" --state-dir="$work/state" 2>"$log" &
        daemon=$!
        wait_for 10 grep -q "started:" "$log" || fail "memqosd did not start"
        [[ $(count_lines "no-such-root") -eq 1 ]] || fail "the missing --cgroup-root is said $(count_lines "no-such-root") times"
        echo "startup: ok"
        ;;
backends)
        # The stock kernel here lacks memory.priority and memory.wmark_ratio.
        # auto: memqosd's own work, said once per feature; kernel: only the
        # kernel's files, the missing ones reported; a reload that changes the
        # choice says so again.
        mkdir -p "$root/job"
        cat >"$work/memqos.conf" <<CONF
[Group /$top/job]
MemoryPriority=1
WatermarkRatio=80
CONF
        start_daemon
        wait_for 5 test -e "$(state_file "/$top/job")" || fail "the group is not followed"
        [[ $(count_lines "MESSAGE_ID=$MSG_BACKEND") -eq 2 ]] || fail "not one BACKEND event per feature"
        grep -q "MESSAGE_ID=$MSG_BACKEND MEMQOS_FEATURE=reclaim MEMQOS_BACKEND=emulate MEMQOS_REASON=auto: this kernel lacks" "$log" ||
                fail "reclaim: not emulate, or no reason"
        grep -q "MEMQOS_FEATURE=oom MEMQOS_BACKEND=emulate" "$log" || fail "oom: not emulate"
        grep -q "^WATERMARK_RATIO_STATE=emulated$" "$(state_file "/$top/job")" || fail "WatermarkRatio= not emulated"

        printf '[Daemon]\nBackend=kernel\n[Group /%s/job]\nMemoryPriority=1\nWatermarkRatio=80\n' "$top" >"$work/memqos.conf"
        kill -HUP "$daemon"
        wait_for 10 grep -q "MEMQOS_FEATURE=reclaim MEMQOS_BACKEND=kernel" "$log" || fail "Backend=kernel not said"
        wait_for 10 grep -q "^WATERMARK_RATIO_STATE=unsupported$" "$(state_file "/$top/job")" ||
                fail "Backend=kernel: the missing memory.wmark_ratio is not reported as unsupported"
        wait_for 10 grep -q "MESSAGE_ID=$MSG_MISSING" "$log" || fail "no FEATURE_MISSING with Backend=kernel"
        [[ $(count_lines "MESSAGE_ID=$MSG_BACKEND") -eq 4 ]] || fail "the change was not said once per feature"
        kill -HUP "$daemon"
        sleep 1
        [[ $(count_lines "MESSAGE_ID=$MSG_BACKEND") -eq 4 ]] || fail "an unchanged backend was said again"
        echo "backends: ok"
        ;;
state-dir-foreign)
        # A state directory somebody else made: a symlink planted there must
        # not make root write through it. memqosd refuses the directory (not
        # its owner's, or writable by others) and says which.
        mkdir -p "$root/g"
        printf '[Group /%s/g]\nMemoryPriority=1\n' "$top" >"$work/memqos.conf"
        victim=$work/victim
        echo precious >"$victim"
        sd=$work/foreign
        name=$(basename "$(state_file "/$top/g")")
        mkdir -p "$sd/groups" "$sd/units"
        ln -s "$victim" "$sd/groups/.#$name"
        ln -s "$victim" "$sd/groups/$name"
        refused() { # WHY: memqosd must exit non-zero at once, naming $sd, the victim intact
                local rc
                timeout 10 "$memqosd" --no-systemd --log-target=stderr --config="$work/memqos.conf" \
                        --state-dir="$sd" 2>"$log"
                rc=$?
                [[ $(cat "$victim") == precious ]] || fail "$1: root wrote through a symlink planted in $sd"
                ((rc != 0 && rc != 124)) || fail "$1: memqosd accepted the state directory (exit $rc)"
                grep -q -- "$sd" "$log" || fail "$1: the refusal does not name $sd"
        }
        chown -hR 65534:65534 "$sd"
        refused "owned by uid 65534"
        chown -hR 0:0 "$sd"
        chmod 0777 "$sd"
        refused "writable by everybody"
        chmod 0775 "$sd"
        chgrp 65534 "$sd"
        refused "writable by group 65534"
        chmod 0755 "$sd"
        chgrp 0 "$sd"
        chmod 0777 "$sd/groups"
        refused "groups/ writable by everybody"
        echo "state-dir-foreign: ok"
        ;;
state-stale)
        # State files say what a running memqosd does: at a clean stop each is
        # marked ACTIVE=no with the time of the stop; a file an earlier
        # memqosd left behind (killed) is removed at the next start.
        mkdir -p "$root/g"
        printf '[Group /%s/g]\nMemoryPriority=1\n' "$top" >"$work/memqos.conf"
        mkdir -p "$work/state/groups"
        left=$(state_file "/$top/left")
        printf 'UNIT=\nCGROUP=/%s/left\nACTIVE=yes\n' "$top" >"$left"
        start_daemon
        f=$(state_file "/$top/g")
        wait_for 5 test -e "$f" || fail "group not followed"
        grep -q "^ACTIVE=yes$" "$f" || fail "a followed group is not ACTIVE=yes"
        grep -q "^STOPPED_AT=$" "$f" || fail "a running memqosd writes a stop time"
        [[ ! -e $left ]] || fail "the state file of an earlier memqosd is still there"
        kill -TERM "$daemon"
        wait "$daemon"
        rc=$?
        daemon=
        ((rc == 0)) || fail "memqosd exited $rc on SIGTERM"
        grep -q "^ACTIVE=no$" "$f" || fail "ACTIVE=yes after memqosd stopped: $(cat "$f")"
        grep -Eq "^STOPPED_AT=[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$" "$f" || fail "no stop time: $(cat "$f")"
        grep -q "^MEMORY_PRIORITY=1$" "$f" || fail "the stopped state lost what was wanted"
        start_daemon
        wait_for 5 grep -q "^ACTIVE=yes$" "$f" || fail "not ACTIVE=yes again after a restart"
        grep -q "^STOPPED_AT=$" "$f" || fail "the stop time stays after a restart"
        echo "state-stale: ok"
        ;;
fds)
        # Hundreds of groups, each with the reclaim and kill watch, started
        # with the soft RLIMIT_NOFILE most shells give (1,024): memqosd raises
        # it to the hard limit, and spends few descriptors per group.
        n=400
        per_group_max=4
        [[ $(ulimit -H -n) == unlimited || $(ulimit -H -n) -gt 1024 ]] ||
                { echo "skip: the hard RLIMIT_NOFILE is 1024 or less"; exit 77; }
        # No rule at first: the descriptors of memqosd alone. The groups get
        # their limits before the rule matches them (SIGHUP), so that each
        # has a reclaim zone to watch from the start.
        : >"$work/memqos.conf"
        : >"$log"
        (ulimit -S -n 1024 && exec "$memqosd" --no-systemd --log-target=stderr --config="$work/memqos.conf" \
                --state-dir="$work/state" 2>"$log") &
        daemon=$!
        wait_for 10 grep -q "started:" "$log" || fail "memqosd did not start"
        read -r soft hard < <(awk '/^Max open files/ { print $4, $5 }' "/proc/$daemon/limits")
        [[ $soft == "$hard" ]] || fail "soft RLIMIT_NOFILE not raised to the hard limit: $soft (hard $hard)"
        fds_empty=$(ls "/proc/$daemon/fd" | wc -l)

        for i in $(seq -w 1 $n); do
                mkdir "$root/g-$i"
                echo 64M >"$root/g-$i/memory.limit_in_bytes"
        done
        cat >"$work/memqos.conf" <<CONF
[Group /$top/g-*]
MemoryPriority=1
UsePriorityOOM=yes
WatermarkRatio=70
CONF
        kill -HUP "$daemon"
        n_followed() { ls "$work/state/groups" | grep -c 'g\\x2d[0-9]'; } # "-" is escaped
        all_followed() { [[ $(n_followed) -eq $n ]]; }
        wait_for 120 all_followed || fail "$(n_followed) of $n groups followed"
        # The last group's watches are set up right after its state file.
        wait_for 30 grep -q "WATERMARK_RATIO=70" "$(state_file "/$top/g-$n")" || fail "the last group has no policy"
        sleep 1
        ! grep -i "too many open files" "$log" | head -n 3 | grep . || fail "memqosd ran out of descriptors"
        fds=$(ls "/proc/$daemon/fd" | wc -l)
        eventfds=$(find "/proc/$daemon/fd" -lname 'anon_inode:\[eventfd\]' | wc -l)
        rss=$(awk '/^VmRSS/ { print $2, $3 }' "/proc/$daemon/status")
        echo "fds: $fds_empty with no group, $fds with $n groups ($eventfds eventfds); VmRSS $rss"
        # A few more for the daemon itself (the cgroupfs watcher once a rule exists).
        ((fds - fds_empty <= per_group_max * n + 5)) ||
                fail "$((fds - fds_empty)) descriptors for $n groups: more than $per_group_max per group"
        # Each group has its reclaim and kill watch: on v1 an eventfd for the
        # zone's thresholds, and one for OOM notifications.
        ((eventfds >= 2 * n)) || fail "$eventfds eventfds for $n groups: some group has no watch"
        kill -0 "$daemon" || fail "memqosd died"
        echo "fds: ok"
        ;;
*)
        echo "unknown case $case_name"
        exit 2
        ;;
esac
exit 0
