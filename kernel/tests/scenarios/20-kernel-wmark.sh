#!/bin/bash
# layouts: v1 v2
# Kernel selftest: memory.wmark_* files, watermark arithmetic, background reclaim, memory.exstat.
# Runs the static binary that kernel/tests/run copies to /opt/memqos-ktests;
# its TAP output ends with "N passed, N failed" and its exit status is 0
# only if everything passed.
. "$MEMQOS_VM_LIB"

step "selftest"
/opt/memqos-ktests/test_wmark
