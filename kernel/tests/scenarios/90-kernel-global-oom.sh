#!/bin/bash
# layouts: v1 v2
# Kernel selftest: a global OOM with root's memory.use_priority_oom set (exhausts the guest's memory).
# Runs the static binary that kernel/tests/run copies to /opt/memqos-ktests;
# its TAP output ends with "N passed, N failed" and its exit status is 0
# only if everything passed.
. "$MEMQOS_VM_LIB"

step "selftest"
/opt/memqos-ktests/test_global_oom
