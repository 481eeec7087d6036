#!/bin/bash
# layouts: v1 v2
# kernels: stock (how systemd names and re-announces units; 30 checks the kernel's files)
# Transient scopes (systemd-run --scope) in offline.slice are followed; a
# prefix drop-in (batch-.scope.d) reaches every batch-*.scope.
. "$MEMQOS_VM_LIB"
. "$MEMQOS_VM_DIR/core.sh"

cleanup() {
        systemctl stop batch-1.scope batch-2.scope 2>/dev/null || true
        rm -rf /etc/systemd/system/batch-.scope.d /etc/systemd/system/offline.slice.d
        systemctl daemon-reload
}
trap cleanup EXIT

install_dropin batch-.scope 50-memqos.conf <<'CONF'
[X-MemQoS]
MemoryPriority=3
CONF
install_dropin offline.slice 50-memqos.conf <<'CONF'
[X-MemQoS]
MemoryPriority=1
CONF
systemctl daemon-reload
start_memqosd

step "two transient scopes in offline.slice"
systemd-run --quiet --scope --unit=batch-1 --slice=offline.slice sleep 300 &
systemd-run --quiet --scope --unit=batch-2 --slice=offline.slice sleep 300 &
wait_until 20 systemctl is-active batch-1.scope
wait_until 20 systemctl is-active batch-2.scope

assert_knob batch-1.scope MEMORY_PRIORITY memory.priority 3
assert_knob batch-2.scope MEMORY_PRIORITY memory.priority 3
assert_eq /offline.slice/batch-1.scope "$(state_get batch-1.scope CGROUP)" "cgroup of batch-1.scope"
assert_match "batch-\.scope\.d/50-memqos\.conf" "$(state_get batch-1.scope SOURCES)" "sources of batch-1.scope"

step "offline.slice is the parent of prioritized scopes: use_priority_oom"
assert_knob offline.slice USE_PRIORITY_OOM memory.use_priority_oom 1
assert_journal -u batch-1.scope MESSAGE_ID=$MSG_POLICY MEMQOS_MEMORY_PRIORITY=3

step "a scope that ends takes its state file with it"
systemctl stop batch-2.scope
wait_until 20 test ! -e "$MEMQOS_STATE/batch-2.scope"
