#!/bin/bash
# layouts: v1 v2
# kernels: stock (how systemd names and re-announces units; 30 checks the kernel's files)
# kubelet's systemd driver makes kubepods-besteffort-pod<uid>.slice; a prefix
# drop-in kubepods-besteffort-.slice.d reaches every such pod, and the shipped
# QoS-class drop-ins rank the classes.
. "$MEMQOS_VM_LIB"
. "$MEMQOS_VM_DIR/core.sh"

cleanup() {
        systemctl stop kubepods.slice 2>/dev/null || true
        rm -rf /etc/systemd/system/kubepods-*.slice.d
        systemctl daemon-reload
}
trap cleanup EXIT

for d in kubepods-.slice.d kubepods-burstable.slice.d kubepods-besteffort.slice.d; do
        mkdir -p /etc/systemd/system/$d
        cp /usr/share/memqos/dropins/$d/*.conf /etc/systemd/system/$d/
done
install_dropin kubepods-besteffort-.slice 50-memqos.conf <<'CONF'
[X-MemQoS]
MemoryPriority=2
MemoryThresholds=90%
CONF
systemctl daemon-reload
start_memqosd

systemctl start kubepods-besteffort-pod1.slice kubepods-burstable.slice

step "the pod gets the prefix drop-in"
assert_knob kubepods-besteffort-pod1.slice MEMORY_PRIORITY memory.priority 2
assert_eq "90%" "$(state_get kubepods-besteffort-pod1.slice MEMORY_THRESHOLDS)" "thresholds of the pod"
assert_eq /kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice \
        "$(state_get kubepods-besteffort-pod1.slice CGROUP)" "cgroup of the pod"

step "the QoS classes: the class drop-in (60-) overrides the kubepods- prefix (50-)"
assert_knob kubepods-besteffort.slice MEMORY_PRIORITY memory.priority 1
assert_knob kubepods-besteffort.slice WATERMARK_RATIO memory.wmark_ratio 80
assert_knob kubepods-burstable.slice MEMORY_PRIORITY memory.priority 5
