#!/bin/bash
# layouts: v1 v2
# kernels: stock
# (On the patched kernel emulate_on_patched_kernel makes memqosd do this
# same work itself: nothing in it depends on the kernel's files.)
# The standing bound (issue #13) under systemd: emu.slice has MemoryMax=256M
# and WatermarkRatio=80 (wmark_high 204.8M); online (MemoryPriority=10)
# holds 80M of page cache; offline (1) writes 768M with plain dd, three
# times the limit, not rate-limited. memqosd holds offline at wmark_high
# less online's 80M (v1: its memory.limit_in_bytes; v2: its memory.high)
# from its first look, before offline writes,
# so offline reclaims its own pages: emu.slice never meets its limit, online
# keeps its cache, and the hold is put back when memqosd stops.
. "$MEMQOS_VM_LIB"
. "$MEMQOS_VM_DIR/core.sh"
. "$MEMQOS_VM_DIR/emu.sh"

MiB=1048576
data=/var/tmp/memqos-bound
run=/run/memqos-bound

trap 'emu_cleanup "$data" "$run"' EXIT

cg() { memcg_dir "/emu.slice$1"; }
held_file=memory.high
[[ $MEMQOS_VM_LAYOUT == v1 ]] && held_file=memory.limit_in_bytes
held_of() { cat "$(cg /emu-offline.scope)/$held_file"; }
limit_hits() { # of emu.slice: v1 failcnt, v2 memory.events max
        if [[ $MEMQOS_VM_LAYOUT == v1 ]]; then cat "$(cg "")/memory.failcnt"; else sed -n 's/^max //p' "$(cg "")/memory.events"; fi
}
unheld() { [[ $(held_of) == max || $(held_of) -ge $((1 << 62)) ]]; }

step "set-up: emu.slice (256M, WatermarkRatio=80), online (10) and offline (1) scopes"
mkdir -p "$data" "$run"
emulate_on_patched_kernel Reclaim
install_dropin emu.slice 50-memqos.conf <<'CONF'
[Slice]
MemoryMax=256M
[X-MemQoS]
WatermarkRatio=80
CONF
for scope in online:10 offline:1; do
        printf '[X-MemQoS]\nMemoryPriority=%s\n' "${scope#*:}" | install_dropin "emu-${scope%:*}.scope" 50-memqos.conf
done
systemctl daemon-reload
start_memqosd
systemctl start emu.slice
wait_state emu.slice LIMIT_BYTES $((256 * MiB))
dd if=/dev/zero of="$data/online" bs=1M count=80 oflag=direct status=none
systemd-run --quiet --scope --unit=emu-online --slice=emu.slice sh -c \
        'cat "$1/online" >/dev/null && touch "$2/online.done"; exec sleep infinity' sh "$data" "$run" &
systemd-run --quiet --scope --unit=emu-offline --slice=emu.slice sh -c \
        'while [ ! -e "$1/go" ]; do sleep 0.1; done
         dd if=/dev/zero of="$2/offline" bs=1M count=768 status=none && touch "$1/offline.done"
         exec sleep infinity' sh "$run" "$data" &
wait_state emu-online.scope MEMORY_PRIORITY 10
wait_state emu-offline.scope MEMORY_PRIORITY 1
wait_until 120 test -e "$run/online.done"
online_before=$(emu_cache_of "$(cg /emu-online.scope)")
((online_before >= 78 * MiB)) || fail "online's page cache" "expected: >= 78M" "seen: $online_before"

step "offline is held at wmark_high less online's 80M before it writes"
high=$((256 * MiB * 80 / 100))
usage_of() { if [[ $MEMQOS_VM_LAYOUT == v1 ]]; then cat "$1/memory.usage_in_bytes"; else cat "$1/memory.current"; fi; }
# ... and less what emu.slice holds itself (pages of scopes gone before).
near_bound() {
        local h own want
        own=$(($(usage_of "$(cg "")") - $(usage_of "$(cg /emu-online.scope)") - $(usage_of "$(cg /emu-offline.scope)")))
        want=$((high - online_before - (own > 0 ? own : 0)))
        h=$(held_of)
        [[ $h != max ]] && ((h <= want + 2 * MiB && h >= want - 8 * MiB))
}
wait_until 30 near_bound
assert_journal -u emu.slice --grep "Holding /emu.slice/emu-offline.scope"
[[ -n $(ls /run/memqos/squeeze) ]] || fail "no record of the hold in /run/memqos/squeeze"

step "offline writes 768M, not rate-limited: emu.slice never meets its limit, online keeps its cache"
hits_before=$(limit_hits)
touch "$run/go"
wait_until 300 test -e "$run/offline.done"
assert_eq "$hits_before" "$(limit_hits)" "emu.slice's limit hits while offline wrote"
wait_until 30 near_bound
online_after=$(emu_cache_of "$(cg /emu-online.scope)")
((online_after * 100 >= online_before * 95)) ||
        fail "online's page cache was taken" "before: $online_before" "after:  $online_after"

step "a stop puts offline's $held_file back; a start holds it again"
systemctl stop memqosd.service
unheld || fail "offline's $held_file after the stop" "seen: $(held_of)"
assert_eq "" "$(ls /run/memqos/squeeze 2>/dev/null || true)" "squeeze records after the stop"
start_memqosd
wait_until 30 near_bound
echo "offline held at $(($(held_of) / MiB))M; online kept $((online_after / MiB))M of $((online_before / MiB))M; limit hits $hits_before -> $(limit_hits)"
