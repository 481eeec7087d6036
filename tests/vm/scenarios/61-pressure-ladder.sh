#!/bin/bash
# layouts: v1 v2
# kernels: stock own
# The ladder's reclaim notice (issue #15, memqos-pressure(7) level=reclaim)
# under systemd: ladder.slice has MemoryMax=256M and WatermarkRatio=80 with
# the widest gap (WatermarkScaleFactor=1000: the kernel's wmark_high 204.8M,
# wmark_low 179.2M); ladder-low.service (MemoryPriority=1) reads 60M of page
# cache and runs memqos-pressure-client holding 60M of anonymous memory, on
# the socket through the shipped drop-in; ladder-high.service (10) has a
# client that only listens, and reads 100M, 2M every 0.2 s, up to 220M in
# all. memqosd's reclaim starts at 204.8M on Debian's kernel, and on the
# patched kernel one gap ahead of the kernel's own (AheadOfKernel=yes, the
# default, with Backend=auto: the kernel reclaims too), at 179.2M. Asserted:
# low's client is told (its line, NOTIFIED of level reclaim for
# ladder-low.service), frees, and GRACE_ENDED says it gave back; high's
# client is not told before low's (here: not at all, low gives enough); on
# the patched kernel the notice came before the kernel's own watermark
# reclaim: memqosd's start (threshold= of the line) is below the slice's
# memory.wmark_high, so is the notice's usage, and memory.exstat's
# wmark_reclaim_work_ms was 0 when the client read its line (read by the
# service itself, right after the line) and is 0 at the end: once low's
# client freed 60M, usage stays below both starts. Measured on the patched
# kernel, v2 (December 2026, TCG): the notice at 181.2M (threshold 179.2M,
# wmark_high 204.8M), exstat 0; with high reading at full speed (one cat)
# at 190.8M, exstat 0 still; high reads 10M/s for the margin (v2 has no
# usage notification: memqosd samples every 100 ms outside the zone). Where memqosd starts at the
# kernel's wmark_high (Backend=emulate with the kernel's watermarks written
# by hand) the kernel was first: its reclaim had run 87 ms when the client
# read a notice at 205.05M, or it kept usage under memqosd's start and no
# notice came at all.
. "$MEMQOS_VM_LIB"
. "$MEMQOS_VM_DIR/core.sh"
. "$MEMQOS_VM_DIR/emu.sh"

MSG_NOTIFIED=a2e5df67d2264412b1308f5422de46ce
MSG_GRACE_ENDED=30ba89597ba74eae93006a848fc00484
CLIENT=/usr/local/bin/memqos-pressure-client
MiB=1048576
data=/var/tmp/memqos-ladder
units=/etc/systemd/system

cleanup() {
        systemctl stop ladder-low.service ladder-high.service ladder.slice 2>/dev/null || true
        systemctl reset-failed ladder-low.service ladder-high.service 2>/dev/null || true
        rm -rf "$units"/ladder-low.service* "$units"/ladder-high.service* "$units"/ladder.slice.d \
                "$data" /run/ladder-low.out /run/ladder-high.out
        memqosd_conf_restore
        systemctl daemon-reload
}
trap cleanup EXIT

slice_cg=$(memcg_dir /ladder.slice)
usage_of() {
        if [[ $MEMQOS_VM_LAYOUT == v1 ]]; then cat "$1/memory.usage_in_bytes"; else cat "$1/memory.current"; fi
}
exstat_ms() { sed -n 's/^wmark_reclaim_work_ms //p' "$slice_cg/memory.exstat"; }
# field LINE KEY: KEY's value in a notice line (key=value words)
field() {
        local rest=${1#* "$2"=}
        echo "${rest%% *}"
}
# This scenario's entries are those past a mark, a count taken before
# (journalctl 252 skipped matching entries after a cursor, see 50): the
# journal keeps those of any scenario before on this boot.
notified=(MESSAGE_ID=$MSG_NOTIFIED MEMQOS_NOTICE_LEVEL=reclaim)
grace_ended=(MESSAGE_ID=$MSG_GRACE_ENDED OBJECT_SYSTEMD_UNIT=ladder.slice)
# entries_after MARK JOURNALCTL-ARGS...: the entries past MARK, as one JSON array
entries_after() {
        local mark=$1
        shift
        journalctl --no-pager -b -q -o json "$@" | tail -n +$((mark + 1)) | jq -s .
}
more_than() {
        local mark=$1
        shift
        (($(journal_count "$@") > mark))
}

[[ -x $CLIENT ]] || fail "no $CLIENT (tests/vm/run puts tests/host/pressure-client there)"

step "set-up: ladder.slice (256M, WatermarkRatio=80, scale 1000), low (1) with a client holding 60M, high (10)"
mkdir -p "$data"
# Files nobody has in page cache (O_DIRECT): the first read charges the reader.
dd if=/dev/zero of="$data/low" bs=1M count=60 oflag=direct status=none
dd if=/dev/zero of="$data/high" bs=1M count=100 oflag=direct status=none
# Without the standing bounds: they would hold low under wmark_high less
# high's usage from the start (v1: its limit, v2: its memory.high), so that
# low reclaims its own cache in its own allocation context and memqosd's
# reclaim, the one the ladder announces, is never needed. A grace of 1 s:
# the default 200 ms is short for a TCG guest to munmap 60M. Every NOTIFIED
# said (no rate limit).
memqosd_conf_add $'[Reclaim]\nStandingBounds=no\n[Notify]\nReclaimGraceSec=1s\n[Events]\nEventRateLimitBurst=0'
emu_watermark_slice ladder.slice
# low: its cache, then the client; each line the client prints is followed
# by the slice's wmark_reclaim_work_ms as the service reads it then ("-"
# on a kernel without memory.exstat).
cat >"$units/ladder-low.service" <<UNIT
[Service]
Slice=ladder.slice
ExecStart=/bin/sh -c 'cat $data/low >/dev/null && $CLIENT "\$\$MEMORY_PRESSURE_WATCH" hold $((60 * MiB)) free | \\
        while IFS= read -r l; do echo "\$\$l"; case "\$\$l" in "memqos level="*) \\
                echo "exstat \$\$(sed -n "s/^wmark_reclaim_work_ms //p" $slice_cg/memory.exstat 2>/dev/null || echo -)";; esac; \\
        done >/run/ladder-low.out 2>&1'
[X-MemQoS]
MemoryPriority=1
UNIT
cat >"$units/ladder-high.service" <<UNIT
[Service]
Slice=ladder.slice
ExecStart=/bin/sh -c 'exec $CLIENT "\$\$MEMORY_PRESSURE_WATCH" listen >/run/ladder-high.out 2>&1'
[X-MemQoS]
MemoryPriority=10
UNIT
for s in low high; do
        install_dropin ladder-$s.service 60-memqos-pressure.conf </usr/share/memqos/dropins/memqos-pressure.conf
done
systemctl daemon-reload
start_memqosd
systemctl start ladder.slice
wait_state ladder.slice LIMIT_BYTES $((256 * MiB))
systemctl start ladder-low.service ladder-high.service
wait_state ladder-low.service MEMORY_PRIORITY 1
wait_state ladder-high.service MEMORY_PRIORITY 10
wait_until 120 grep -q '^ready' /run/ladder-low.out
wait_until 10 grep -q '^ready' /run/ladder-high.out
low_cg=$(memcg_dir /ladder.slice/ladder-low.service)
high_cg=$(memcg_dir /ladder.slice/ladder-high.service)
low_before=$(usage_of "$low_cg")
((low_before >= 115 * MiB)) || fail "low's usage (60M held, 60M of cache)" "expected: >= 115M" "seen: $low_before"
patched=
if kernel_has_priority; then
        patched=yes
        # The kernel's own watermark reclaim is armed: memqosd wrote the slice's files.
        wait_until 20 grep -qx 80 "$slice_cg/memory.wmark_ratio"
        assert_eq 1000 "$(cat "$slice_cg/memory.wmark_scale_factor")" "the slice's memory.wmark_scale_factor"
        kernel_high=$(cat "$slice_cg/memory.wmark_high")
        assert_eq 0 "$(exstat_ms)" "wmark_reclaim_work_ms of the slice before high reads"
fi

step "high reads 100M, 2M every 0.2 s: past memqosd's reclaim start"
notified_mark=$(journal_count "${notified[@]}")
grace_mark=$(journal_count "${grace_ended[@]}")
# in high's cgroup, so that its page cache is charged there
sh -c 'echo $$ >"$0/cgroup.procs" && for i in $(seq 0 49); do
                dd if="$1" of=/dev/null bs=2M skip=$i count=1 status=none; sleep 0.2; done' "$high_cg" "$data/high"
# The episode's grace ended (whoever was told).
wait_until 30 more_than "$grace_mark" "${grace_ended[@]}"
cat /run/ladder-low.out
notices=$(entries_after "$notified_mark" "${notified[@]}")
low_notice=$(jq -c '[.[] | select(.MEMQOS_CGROUP == "/ladder.slice/ladder-low.service")][0]' <<<"$notices")

step "high's client was not told before low's"
# low gives more than the episode wants: high is not told at all; were it,
# then after low (the plan's order, lowest priority first).
high_first=$(jq -r --argjson low "$low_notice" '[.[] | select(.MEMQOS_CGROUP == "/ladder.slice/ladder-high.service"
        and ($low == null or (.__MONOTONIC_TIMESTAMP | tonumber) < ($low.__MONOTONIC_TIMESTAMP | tonumber)))] | length' <<<"$notices")
assert_eq 0 "$high_first" "NOTIFIED for high before low's (or without low's)"
assert_eq 0 "$(grep -c '^memqos level=' /run/ladder-high.out || true)" "notices high's client read"

step "low's client was told, and freed; NOTIFIED names low, GRACE_ENDED says it gave back"
wait_until 10 grep -q '^memqos level=reclaim ' /run/ladder-low.out
line=$(grep -m1 '^memqos level=reclaim ' /run/ladder-low.out)
assert_match "^memqos level=reclaim usage=[0-9]+ limit=$((256 * MiB)) threshold=[0-9]+ want=[1-9][0-9]*$" "$line" "low's notice line"
wait_until 10 grep -q '^freed' /run/ladder-low.out
assert_eq 1 "$(jq -r .MEMQOS_CLIENTS <<<"$low_notice")" "clients told in low (its NOTIFIED: $low_notice)"
assert_eq ladder-low.service "$(jq -r .OBJECT_SYSTEMD_UNIT <<<"$low_notice")" "the unit NOTIFIED names"
grace=$(entries_after "$grace_mark" "${grace_ended[@]}" | jq -c '.[0]')
given=$(jq -r .MEMQOS_GIVEN_BACK_BYTES <<<"$grace")
((given > 0)) || fail "GRACE_ENDED: nothing given back" "seen: $grace"
(($(jq -r .__MONOTONIC_TIMESTAMP <<<"$grace") >= $(jq -r .__MONOTONIC_TIMESTAMP <<<"$low_notice"))) ||
        fail "GRACE_ENDED before low's NOTIFIED" "NOTIFIED: $low_notice" "GRACE_ENDED: $grace"
echo "GRACE_ENDED: $(jq -r '"given back \(.MEMQOS_GIVEN_BACK_BYTES) of \(.MEMQOS_WANT_BYTES) asked, usage \(.MEMQOS_USAGE_BEFORE_BYTES) -> \(.MEMQOS_USAGE_BYTES), next \(.MEMQOS_NEXT)"' <<<"$grace")"

if [[ -n $patched ]]; then
        step "patched kernel: the notice came before the kernel's own watermark reclaim"
        usage=$(field "$line" usage)
        threshold=$(field "$line" threshold)
        echo "notice at usage $usage, memqosd's start $threshold; the slice's wmark_high $kernel_high, wmark_low $(cat "$slice_cg/memory.wmark_low")"
        ((threshold < kernel_high)) || fail "memqosd's reclaim start is not ahead of the kernel's" \
                "threshold: $threshold" "wmark_high: $kernel_high"
        ((usage < kernel_high)) || fail "the notice's usage is past the slice's wmark_high" \
                "usage: $usage" "wmark_high: $kernel_high"
        assert_eq "exstat 0" "$(grep -m1 '^exstat' /run/ladder-low.out)" "wmark_reclaim_work_ms when low's client read its line"
        assert_eq 0 "$(exstat_ms)" "wmark_reclaim_work_ms of the slice after high read all"
fi
assert_unit_state memqosd.service ActiveState=active
echo "low's line: $line; low's usage $((low_before / MiB))M -> $(($(usage_of "$low_cg") / MiB))M, high's $(($(usage_of "$high_cg") / MiB))M"
