#!/bin/bash
# layouts: v1 v2
# Kernel selftest: memory.priority / memory.use_priority_oom files and the memcg OOM victim walk.
# Runs the static binary that kernel/tests/run copies to /opt/memqos-ktests;
# its TAP output ends with "N passed, N failed" and its exit status is 0
# only if everything passed.
. "$MEMQOS_VM_LIB"

step "selftest"
/opt/memqos-ktests/test_priority_oom
