#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The demo (tests/vm/demo): memqosd at work on the example slices, shown as it
# is. Not a test: it prints whatever the daemon does so far and carries on
# past anything that fails.
# layouts: v1 v2
set -u

show() {
        printf '\n$ %s\n' "$*"
        "$@" 2>&1
}

echo "=== memqos demo: systemd $(systemctl --version | sed -n '1s/^systemd \([0-9]*\).*/\1/p'), cgroup $MEMQOS_VM_LAYOUT, kernel $(uname -r) ==="

# The shipped drop-ins go where an operator would put them.
for slice in online.slice offline.slice; do
        src=/usr/share/memqos/dropins/$slice.d
        [[ -d $src ]] || continue
        mkdir -p "/etc/systemd/system/$slice.d"
        cp "$src"/*.conf "/etc/systemd/system/$slice.d/"
        show ls "/etc/systemd/system/$slice.d"
done
show systemctl daemon-reload
show systemctl start memqosd.service

for slice in online.slice offline.slice; do
        if systemctl cat "$slice" >/dev/null 2>&1; then
                show systemctl start "$slice"
        else
                echo "($slice is not installed)"
        fi
done

# Some work in each: an online service allocating, an offline scope idling;
# a limit on offline.slice for the watermarks to be relative to.
show systemctl set-property --runtime offline.slice MemoryMax=512M
show systemd-run --unit=demo-online --slice=online.slice \
        stress-ng --vm 1 --vm-bytes 64M --timeout 30s --quiet
printf '\n$ systemd-run --scope --slice=offline.slice sleep 60 &\n'
systemd-run --scope --slice=offline.slice sleep 60 >/dev/null 2>&1 &
scope=$!
sleep 5

show systemctl status --no-pager -l memqosd.service
show systemctl status --no-pager online.slice offline.slice
if compgen -G '/run/memqos/units/*' >/dev/null; then
        for f in /run/memqos/units/*; do
                printf '\n$ cat %s\n' "$f"
                cat "$f"
        done
else
        echo "(no /run/memqos/units/* yet)"
fi
show journalctl --no-pager -b -u memqosd -u offline.slice -u online.slice -o short

systemctl stop demo-online.service 2>/dev/null
kill "$scope" 2>/dev/null

# --- Colocation under one limit: memqosd's own reclaim and priority kill ---
# (the kernel here has no memory.wmark_ratio or memory.priority: memqosd does
# the work itself; see bench/README.md for the numbers.)
echo
echo "=== colocation: online and offline under colo.slice (MemoryMax=384M) ==="
mkdir -p /etc/systemd/system/colo.slice.d /etc/systemd/system/colo-online.slice.d \
        /etc/systemd/system/colo-offline.slice.d
printf '[Slice]\nMemoryMax=384M\n[X-MemQoS]\nWatermarkRatio=80\nWatermarkScaleFactor=500\nUsePriorityOOM=yes\n' \
        >/etc/systemd/system/colo.slice.d/50-memqos.conf
printf '[X-MemQoS]\nMemoryPriority=10\n' >/etc/systemd/system/colo-online.slice.d/50-memqos.conf
printf '[X-MemQoS]\nMemoryPriority=1\n' >/etc/systemd/system/colo-offline.slice.d/50-memqos.conf
show cat /etc/systemd/system/colo.slice.d/50-memqos.conf
show systemctl daemon-reload
systemctl start colo-online.slice colo-offline.slice

cache_of() { # slice -> its page cache in MB
        local d
        if [[ $MEMQOS_VM_LAYOUT == v1 ]]; then
                d=/sys/fs/cgroup/memory/colo.slice/$1
                awk '/^total_cache /{printf "%d MB\n", $2/1048576}' "$d/memory.stat"
        else
                d=/sys/fs/cgroup/colo.slice/$1
                awk '/^file /{printf "%d MB\n", $2/1048576}' "$d/memory.stat"
        fi
}

dd if=/dev/zero of=/var/tmp/online.dat bs=1M count=60 status=none
dd if=/dev/zero of=/var/tmp/offline.dat bs=1M count=320 status=none
sync
echo 1 >/proc/sys/vm/drop_caches
show systemd-run --wait --quiet --slice=colo-online.slice sh -c 'cat /var/tmp/online.dat >/dev/null'
echo "online page cache: $(cache_of colo-online.slice)"
echo "offline reads 320 MB: the parent crosses its wmark_high (80% of 384M)"
show systemd-run --wait --quiet --slice=colo-offline.slice sh -c 'cat /var/tmp/offline.dat >/dev/null'
sleep 1
echo "online page cache: $(cache_of colo-online.slice)   offline page cache: $(cache_of colo-offline.slice)"

echo
echo "offline holds 200M of anonymous memory; then online needs 200M"
systemd-run --unit=colo-batch --slice=colo-offline.slice \
        stress-ng --vm 1 --vm-bytes 200M --vm-keep --vm-hang 0 --oomable --timeout 60s --quiet
sleep 4
show systemd-run --wait --unit=colo-web --slice=colo-online.slice \
        stress-ng --vm 1 --vm-bytes 200M --vm-keep --oomable --timeout 5s --quiet
show systemctl status --no-pager colo-batch.service
show journalctl --no-pager -b -u colo.slice -o short
show journalctl --no-pager -b -x -n 1 MESSAGE_ID=e237dcbd89ba4291bc83c314199d80eb
exit 0
