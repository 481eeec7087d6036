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
exit 0
