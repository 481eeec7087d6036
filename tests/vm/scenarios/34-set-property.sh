#!/bin/bash
# layouts: v1 v2
# systemctl set-property MemoryMax= changes the limit the watermarks are
# relative to: memqosd follows it and logs the new watermarks.
. "$MEMQOS_VM_LIB"
. "$MEMQOS_VM_DIR/core.sh"

cleanup() {
        systemctl stop offline.slice 2>/dev/null || true
        rm -rf /etc/systemd/system/offline.slice.d /etc/systemd/system.control/offline.slice.d \
                /run/systemd/system.control/offline.slice.d
        systemctl daemon-reload
}
trap cleanup EXIT

install_dropin offline.slice 50-memqos.conf <<'CONF'
[X-MemQoS]
WatermarkRatio=80
WatermarkScaleFactor=100
CONF
systemctl daemon-reload
start_memqosd
systemctl start offline.slice
wait_state offline.slice LIMIT_BYTES max

step "set-property MemoryMax=512M"
systemctl set-property offline.slice MemoryMax=512M
wait_state offline.slice LIMIT_BYTES 536870912
# In pages, as the kernel counts: 131072 pages * 80 / 100 = 104857 pages,
# less 131072 * 100 / 10000 = 1310 pages.
high=429494272
low=424128512
if kernel_has_priority; then
        # The kernel's own watermarks, as the kernel reports them.
        cg=$(memcg_dir /offline.slice)
        wait_state offline.slice WMARK_SOURCE kernel
        assert_eq "$high" "$(cat "$cg/memory.wmark_high")" "memory.wmark_high"
        assert_eq "$low" "$(cat "$cg/memory.wmark_low")" "memory.wmark_low"
else
        wait_state offline.slice WMARK_SOURCE computed
fi
wait_state offline.slice WMARK_HIGH_BYTES $high
wait_state offline.slice WMARK_LOW_BYTES $low
assert_journal -u offline.slice MESSAGE_ID=$MSG_LIMIT MEMQOS_LIMIT_BYTES=536870912 MEMQOS_WMARK_HIGH_BYTES=$high

step "set-property --runtime MemoryMax=256M"
systemctl set-property --runtime offline.slice MemoryMax=256M
wait_state offline.slice LIMIT_BYTES 268435456
assert_journal -u offline.slice MESSAGE_ID=$MSG_LIMIT MEMQOS_LIMIT_BYTES=268435456 MEMQOS_OLD_LIMIT_BYTES=536870912
