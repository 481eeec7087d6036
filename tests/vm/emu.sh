# SPDX-License-Identifier: LGPL-2.1-or-later
# Helpers of the scenarios about memqosd's own reclaim and kill, on top of
# core.sh: the emu.slice set-up and an allocator.

# emu_prioritized_scopes: emu-online.scope (MemoryPriority=10) and
# emu-offline.scope (1), as drop-ins; daemon-reload is the caller's.
emu_prioritized_scopes() {
        local scope
        for scope in online:10 offline:1; do
                printf '[X-MemQoS]\nMemoryPriority=%s\n' "${scope#*:}" |
                        install_dropin "emu-${scope%:*}.scope" 50-memqos.conf
        done
}

# emu_watermark_slice SLICE: SLICE's drop-in for memqosd's reclaim with
# the widest gap: MemoryMax=256M, WatermarkRatio=80, WatermarkScaleFactor=1000
# (wmark_high 204.8M, wmark_low 179.2M); daemon-reload is the caller's.
emu_watermark_slice() {
        install_dropin "$1" 50-memqos.conf <<'CONF'
[Slice]
MemoryMax=256M
[X-MemQoS]
WatermarkRatio=80
WatermarkScaleFactor=1000
CONF
}

# emu_kill_slice: memqosd started and emu.slice running with MemoryMax=384M
# and UsePriorityOOM=yes (the kill watermark at 95%: 364.8M); memqosd's own
# kill, also on a patched kernel.
emu_kill_slice() {
        emulate_on_patched_kernel OOM
        install_dropin emu.slice 50-memqos.conf <<'CONF'
[Slice]
MemoryMax=384M
[X-MemQoS]
UsePriorityOOM=yes
CONF
        systemctl daemon-reload
        start_memqosd
        systemctl start emu.slice
        wait_state emu.slice LIMIT_BYTES $((384 * 1048576))
}

# emu_allocator DIR: writes DIR/alloc.pl. The allocator: perl (perl-base is
# in every Debian) holds TOTAL MiB of anonymous memory, every page touched,
# taken STEP MiB at a time PAUSE s apart, writes DONE, and sleeps until
# killed. One process: its pid is $! of hold.
emu_allocator() {
        mkdir -p "$1"
        cat >"$1/alloc.pl" <<'PERL'
my ($total, $step, $pause, $done) = @ARGV;
my @held;
for (my $n = 0; $n < $total; $n += $step) {
        # one allocation, grown in place (no temporary copy), then every page
        # written
        vec($held[@held], ($step << 20) - 1, 8) = 1;
        $held[-1] =~ tr/\0/a/;
        select(undef, undef, undef, $pause);
}
open(my $f, ">", $done) or die;
close $f;
sleep;
PERL
}

# hold UNIT SLICE TOTAL STEP PAUSE: the allocator of $run (emu_allocator)
# in scope UNIT, in the background; its pid goes to the variable <UNIT
# without emu->_pid; $run/UNIT.done appears when it holds all.
hold() {
        local unit=$1 slice=$2
        systemd-run --quiet --scope --unit="$unit" --slice="$slice" \
                perl "$run/alloc.pl" "$3" "$4" "$5" "$run/$unit.done" &
        printf -v "${unit#emu-}_pid" %s $!
}

# emu_cleanup DIR...: the emu.slice scopes stopped (and reset, for systemd
# 257, which keeps a failed scope loaded), their drop-ins and DIRs removed,
# memqos.conf as it was.
emu_cleanup() {
        systemctl stop emu-online.scope emu-offline.scope emu.slice 2>/dev/null || true
        systemctl reset-failed emu-online.scope emu-offline.scope 2>/dev/null || true
        rm -rf /etc/systemd/system/emu.slice.d /etc/systemd/system/emu-online.scope.d \
                /etc/systemd/system/emu-offline.scope.d "$@"
        memqosd_conf_restore
        systemctl daemon-reload
}

# emu_cache_of DIR: the page cache (file pages) of the cgroup's subtree.
emu_cache_of() {
        local key=file
        [[ $MEMQOS_VM_LAYOUT == v1 ]] && key=total_cache
        sed -n "s/^$key //p" "$1/memory.stat"
}
