#!/bin/bash
# layouts: v1 v2
# memqosd's own background reclaim (issue #7) under systemd: emu.slice has
# MemoryMax=256M and WatermarkRatio=80 (gap 10%: wmark_high 204.8M, wmark_low
# 179.2M); online (MemoryPriority=10) holds 60M of page cache, offline
# (priority 1) reads 170M more, past wmark_high but short of the limit, so
# only memqosd reclaims: from offline, never from online (MEMQOS_RECLAIM_STEPS
# and the scopes' memory.stat say so), by memory.reclaim on v2 and by a
# limit squeeze on v1 that leaves every limit as it was.
. "$MEMQOS_VM_LIB"
. "$MEMQOS_VM_DIR/core.sh"
. "$MEMQOS_VM_DIR/emu.sh"

MSG_RECLAIM=f99e65c964d04a11858d91ab2dda1358
MSG_RECLAIM_FOLDED=1513b272178a419bab43da197d86af0d
MSG_BACKEND=b170d7eae06c4c1180499c441bae1148
MiB=1048576
data=/var/tmp/memqos-emu
run=/run/memqos-emu

trap 'emu_cleanup "$data" "$run"' EXIT

cg() { memcg_dir "/emu.slice$1"; }
usage_of() {
        if [[ $MEMQOS_VM_LAYOUT == v1 ]]; then cat "$1/memory.usage_in_bytes"; else cat "$1/memory.current"; fi
}
limits_of() { # the limits a squeeze could touch, as text
        if [[ $MEMQOS_VM_LAYOUT == v1 ]]; then cat "$1/memory.limit_in_bytes"; else echo "$(cat "$1/memory.max") $(cat "$1/memory.high")"; fi
}
# This scenario's entries are those past the first MARK that match (not
# --after-cursor: journalctl 252 skipped matching entries after a cursor here).
# more_than MARK JOURNALCTL-ARGS...: more entries match than MARK.
more_than() {
        local mark=$1
        shift
        (($(journal_count "$@") > mark))
}
# fresh MARK FIELD JOURNALCTL-ARGS...: FIELD of the entries past MARK, one a line.
fresh() {
        local mark=$1 field=$2
        shift 2
        journalctl --no-pager -b -q "$@" -o cat --output-fields="$field" | tail -n +$((mark + 1))
}

step "set-up: emu.slice (256M, WatermarkRatio=80, scale 1000), two prioritized scopes in it"
mkdir -p "$data" "$run"
emulate_on_patched_kernel Reclaim
# One RECLAIM event an interval, the rest folded: how many passes an episode
# takes depends on the guest's speed, and the pass that reached wmark_low
# must show in the journal whether it was said alone or folded.
memqosd_conf_add $'[Events]\nEventRateLimitBurst=1'
# This scenario is about the reclaim passes and their squeezes: without the
# standing bounds (v1), which would leave the passes little to do.
memqosd_conf_add $'[Reclaim]\nStandingBounds=no'
emu_watermark_slice emu.slice
for scope in online:10 offline:1; do
        printf '[X-MemQoS]\nMemoryPriority=%s\n' "${scope#*:}" | install_dropin "emu-${scope%:*}.scope" 50-memqos.conf
done
systemctl daemon-reload
start_memqosd
assert_journal -u memqosd MESSAGE_ID=$MSG_BACKEND MEMQOS_FEATURE=reclaim MEMQOS_BACKEND=emulate
systemctl start emu.slice
wait_state emu.slice LIMIT_BYTES $((256 * MiB))

# Files nobody has in page cache (O_DIRECT): the first read charges the reader.
dd if=/dev/zero of="$data/online" bs=1M count=60 oflag=direct status=none
dd if=/dev/zero of="$data/offline" bs=1M count=170 oflag=direct status=none
# Each scope reads its file when told to, then stays (its cgroup, with the
# page cache charged to it, stays with it).
for who in online offline; do
        systemd-run --quiet --scope --unit="emu-$who" --slice=emu.slice sh -c \
                'while [ ! -e "$1/go-$2" ]; do sleep 0.1; done
                 cat "$3/$2" >/dev/null && touch "$1/$2.done"
                 exec sleep infinity' sh "$run" "$who" "$data" &
done
wait_state emu-online.scope MEMORY_PRIORITY 10
wait_state emu-offline.scope MEMORY_PRIORITY 1
limits_before="$(limits_of "$(cg /emu-online.scope)") / $(limits_of "$(cg /emu-offline.scope)")"
ev=(-u emu.slice MESSAGE_ID=$MSG_RECLAIM)
mark=$(journal_count "${ev[@]}")
ev_all=("${ev[@]}" MESSAGE_ID=$MSG_RECLAIM_FOLDED) # a pass said alone, or folded
mark_all=$(journal_count "${ev_all[@]}")

step "online reads 60M"
touch "$run/go-online"
wait_until 120 test -e "$run/online.done"
online_before=$(emu_cache_of "$(cg /emu-online.scope)")
((online_before >= 58 * MiB)) || fail "online's page cache" "expected: >= 58M" "seen: $online_before"

step "offline reads 170M: past wmark_high, memqosd reclaims from offline"
touch "$run/go-offline"
wait_until 180 test -e "$run/offline.done"
wait_until 30 more_than "$mark" "${ev[@]}"
high=$(fresh "$mark" MEMQOS_WMARK_HIGH_BYTES "${ev[@]}" | head -n 1)
low=$(fresh "$mark" MEMQOS_WMARK_LOW_BYTES "${ev[@]}" | head -n 1)
assert_match '^21474[0-9]{4}$' "$high" "wmark_high (256M * 80%, to a page)"
assert_match '^18790[0-9]{4}$' "$low" "wmark_low (wmark_high - 256M * 10%, to a page)"
# Reclaim goes on, pass after pass (each is cut short after 50 ms, and the
# reader charges while it runs), until usage is below wmark_low; then, as
# with the kernel's watermarks, the next reclaim waits for wmark_high again
# (the reader may add its last pages after the last pass): usage stays
# below wmark_high, and a pass reached wmark_low (said by its RECLAIM event,
# or by the RECLAIM_FOLDED summary that carries the last folded pass).
below() { (($(usage_of "$(cg "")") < $1)); }
wait_until 60 below "$high"
some_pass_below_low() {
        local after
        while read -r after; do
                ((after < low)) && return 0
        done < <(fresh "$mark_all" MEMQOS_USAGE_AFTER_BYTES "${ev_all[@]}")
        return 1
}
wait_until 60 some_pass_below_low

step "the order: offline's page cache, not online's"
method=limit-squeeze
[[ $MEMQOS_VM_LAYOUT == v2 ]] && method=memory.reclaim
methods=$(fresh "$mark" MEMQOS_METHOD "${ev[@]}" | sort -u | tr '\n' ' ')
assert_eq "$method " "$methods" "reclaim method on $MEMQOS_VM_LAYOUT"
order=
for s in $(fresh "$mark" MEMQOS_RECLAIM_STEPS "${ev[@]}"); do
        s=${s%:*:*}
        order+="${s##*/} "
done
assert_match '^(emu-offline\.scope )+$' "$order" "the reclaim steps (offline had page cache to give)"
online_after=$(emu_cache_of "$(cg /emu-online.scope)")
offline_after=$(emu_cache_of "$(cg /emu-offline.scope)")
((online_after >= online_before - 8 * MiB)) ||
        fail "online's page cache was taken" "before: $online_before" "after:  $online_after"
((offline_after <= 150 * MiB)) || fail "offline's page cache was not taken" "after: $offline_after of 170M"

step "nothing left squeezed; the kernel never hit the limit"
assert_eq "$limits_before" "$(limits_of "$(cg /emu-online.scope)") / $(limits_of "$(cg /emu-offline.scope)")" "the scopes' limits"
assert_eq "" "$(ls /run/memqos/squeeze 2>/dev/null || true)" "squeeze records"
if [[ $MEMQOS_VM_LAYOUT == v1 ]]; then
        assert_eq 0 "$(cat "$(cg "")/memory.failcnt")" "failcnt of emu.slice"
else
        assert_eq "max 0" "$(grep '^max ' "$(cg "")/memory.events")" "memory.events max of emu.slice"
fi
assert_unit_state memqosd.service ActiveState=active
echo "online kept $((online_after / MiB))M of $((online_before / MiB))M, offline $((offline_after / MiB))M left; steps: $order"
