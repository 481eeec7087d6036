#!/bin/bash
# layouts: v1 v2
# v1: memqosd reclaims from a child by squeezing its memory.limit_in_bytes,
# with a record in /run/memqos/squeeze until it has put the limit back. Here
# memqosd "dies mid-squeeze" (the record and the low limit are made by hand):
# killed (Restart=on-failure), stopped (ExecStopPost=memqosd --restore-limits)
# or started with a record left: every limit still at its squeezed value is
# put back (LIMIT_RESTORED), one somebody changed since is left alone.
# v2: no squeeze at all: memqosd reclaims by memory.reclaim and never writes
# a limit.
. "$MEMQOS_VM_LIB"
. "$MEMQOS_VM_DIR/core.sh"

MSG_RECLAIM=f99e65c964d04a11858d91ab2dda1358
MSG_LIMIT_RESTORED=8f82f42ea5d245c8af662cbc3660f4c2
MiB=1048576
records=/run/memqos/squeeze
run=/run/memqos-emu

cleanup() {
        systemctl stop emu-a.scope emu-b.scope emu.slice 2>/dev/null || true
        rm -rf /etc/systemd/system/emu.slice.d "$run" /var/tmp/memqos-emu.data
        memqosd_conf_restore
        systemctl daemon-reload
        systemctl start memqosd 2>/dev/null || true
}
trap cleanup EXIT

install_dropin emu.slice 50-memqos.conf <<'CONF'
[Slice]
MemoryMax=64M
[X-MemQoS]
WatermarkRatio=50
CONF
systemctl daemon-reload
emulate_on_patched_kernel Reclaim
# This scenario is about the reclaim passes and their squeezes: without the
# standing bounds (v1), which would leave the passes little to do.
memqosd_conf_add $'[Reclaim]\nStandingBounds=no'
start_memqosd
systemctl start emu.slice
wait_state emu.slice LIMIT_BYTES $((64 * MiB))
mkdir -p "$run"
# This scenario's events are told by counts, not by --after-cursor
# (journalctl 252 skipped matching entries after a cursor in these scenarios).
restored() { journal_count MESSAGE_ID=$MSG_LIMIT_RESTORED MEMQOS_CGROUP=/emu.slice/emu-"$1".scope; }
declare -A mark
more_restored() { (($(restored "$1") > ${mark[$1]})); }
# The limit the last LIMIT_RESTORED event of emu-a.scope says it put back.
last_restored_limit() {
        journalctl --no-pager -b -q MESSAGE_ID=$MSG_LIMIT_RESTORED MEMQOS_CGROUP=/emu.slice/emu-a.scope \
                -o cat --output-fields=MEMQOS_LIMIT_BYTES | tail -n 1
}

if [[ $MEMQOS_VM_LAYOUT == v2 ]]; then
        step "v2: a reclaim pass by memory.reclaim, no limit written, no record"
        dd if=/dev/zero of=/var/tmp/memqos-emu.data bs=1M count=48 oflag=direct status=none
        reclaims=$(journal_count -u emu.slice MESSAGE_ID=$MSG_RECLAIM MEMQOS_METHOD=memory.reclaim)
        squeezes=$(journal_count MESSAGE_ID=$MSG_RECLAIM MEMQOS_METHOD=limit-squeeze)
        systemd-run --quiet --scope --unit=emu-a --slice=emu.slice sh -c \
                'cat /var/tmp/memqos-emu.data >/dev/null && touch "$0/a.done" && exec sleep infinity' "$run" &
        wait_until 120 test -e "$run/a.done"
        more_reclaims() { (($(journal_count -u emu.slice MESSAGE_ID=$MSG_RECLAIM MEMQOS_METHOD=memory.reclaim) > reclaims)); }
        wait_until 30 more_reclaims
        assert_eq "$squeezes" "$(journal_count MESSAGE_ID=$MSG_RECLAIM MEMQOS_METHOD=limit-squeeze)" "limit squeezes on v2"
        a=$(memcg_dir /emu.slice/emu-a.scope)
        assert_eq "max max" "$(cat "$a/memory.max") $(cat "$a/memory.high")" "emu-a.scope's memory.max and memory.high"
        assert_eq "" "$(ls "$records" 2>/dev/null || true)" "squeeze records"
        exit 0
fi

# Two scopes with a process each in emu.slice.
for s in a b; do
        systemd-run --quiet --scope --unit="emu-$s" --slice=emu.slice sleep infinity &
done
wait_until 30 test -d "$(memcg_dir /emu.slice/emu-a.scope)" -a -d "$(memcg_dir /emu.slice/emu-b.scope)"
a=$(memcg_dir /emu.slice/emu-a.scope)
b=$(memcg_dir /emu.slice/emu-b.scope)
echo -1 >"$a/memory.limit_in_bytes"
a_limit=$(cat "$a/memory.limit_in_bytes") # no limit: the records below say LIMIT=max

# squeezed SCOPE OLD SQUEEZED [NOW]: the record memqosd writes before a
# squeeze (src/emulate/squeeze.c), and the limit as its death left it (or as
# somebody else wrote it since: NOW).
squeezed() {
        local name="emu.slice-emu\\x2d$1.scope"
        mkdir -p "$records"
        printf 'CGROUP=/emu.slice/emu-%s.scope\nLIMIT=%s\nSQUEEZED=%s\n' "$1" "$2" "$3" >"$records/$name"
        echo "${4:-$3}" >"$(memcg_dir "/emu.slice/emu-$1.scope")/memory.limit_in_bytes"
}
a_is() { [[ $(cat "$a/memory.limit_in_bytes") == "$1" ]]; }
# marks: the events so far.
marks() { mark[a]=$(restored a) mark[b]=$(restored b); }
# check WHAT: a back to its limit with an event, b left at 128M, no record.
check() {
        wait_until 30 a_is "$a_limit"
        assert_eq $((128 * MiB)) "$(cat "$b/memory.limit_in_bytes")" "$1: emu-b.scope's limit, written by somebody else"
        assert_eq "" "$(ls "$records" 2>/dev/null || true)" "$1: squeeze records left"
        wait_until 10 more_restored a
        assert_eq "${mark[b]}" "$(restored b)" "$1: LIMIT_RESTORED events for emu-b.scope, whose limit was not memqosd's"
}

step "memqosd killed mid-squeeze: Restart=on-failure, and the limit is back"
marks
restarts=$(unit_prop memqosd.service NRestarts)
squeezed a max $((16 * MiB))
squeezed b max $((16 * MiB)) $((128 * MiB))
systemctl kill --signal=SIGKILL memqosd.service
restarted() { (($(unit_prop memqosd.service NRestarts) > restarts)) && state_is_active; }
state_is_active() { [[ $(unit_prop memqosd.service ActiveState) == active ]]; }
wait_until 60 restarted
check "after SIGKILL"
assert_eq max "$(last_restored_limit)" "the limit put back, in the event"

step "memqosd stopped with a record left: ExecStopPost=memqosd --restore-limits"
echo -1 >"$b/memory.limit_in_bytes"
marks
squeezed a max $((16 * MiB))
squeezed b max $((16 * MiB)) $((128 * MiB))
systemctl stop memqosd.service
check "after stop"
assert_unit_state memqosd.service ActiveState=inactive Result=success

step "a record found at start: put back before anything else"
echo -1 >"$b/memory.limit_in_bytes"
echo $((512 * MiB)) >"$a/memory.limit_in_bytes"
a_limit=$((512 * MiB))
marks
squeezed a $((512 * MiB)) $((16 * MiB))
squeezed b max $((16 * MiB)) $((128 * MiB))
systemctl start memqosd.service
check "at start"
assert_eq $((512 * MiB)) "$(last_restored_limit)" "the limit put back, in the event"
assert_unit_state memqosd.service ActiveState=active
