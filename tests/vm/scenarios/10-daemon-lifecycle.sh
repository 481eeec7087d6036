#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# memqosd.service under the real systemd: starts through READY=1, logs its
# startup message, survives a reload as the same process, stops cleanly.
# layouts: v1 v2
. "$MEMQOS_VM_LIB"

unit=memqosd.service
started_id=dfbf0f22d1f046ffbc1ada53e52ccd3d

step "start"
# Type=notify (or notify-reload): systemctl start returns only once memqosd
# sent READY=1 (or fails after TimeoutStartSec). The unit says which type:
# notify-reload where it was built against systemd 253 or later, as the
# Debian 13 package is.
type=$(sed -n 's/^Type=//p' "$(unit_prop "$unit" FragmentPath)")
if [[ $MEMQOS_VM_RELEASE == trixie && -e $MEMQOS_VM_DIR/debs/current ]]; then
        assert_eq notify-reload "$type" "Type= of the Debian 13 package's unit"
fi
assert_ok systemctl start "$unit"
assert_unit_state "$unit" Type="$type" ActiveState=active SubState=running \
        NRestarts=0 Result=success
pid=$(unit_prop "$unit" MainPID)
assert_ne 0 "$pid" "MainPID of $unit"

step "startup message in the journal"
assert_journal -u "$unit" MESSAGE_ID=$started_id
assert_match 'memqosd started' "$(journalctl --no-pager -b -x -u "$unit" MESSAGE_ID=$started_id)" \
        "journalctl -x (catalog entry) for MESSAGE_ID=$started_id"

step "reload"
assert_ok systemctl reload "$unit"
# RELOADING=1 holds SubState=reload until the next READY=1
wait_until 30 test "$(unit_prop "$unit" SubState)" = running
sleep 1
assert_unit_state "$unit" ActiveState=active SubState=running NRestarts=0 MainPID="$pid"

step "stop"
# systemd collects an inactive unit at once, its ExecMain* with it; PID 1's own
# log says how the main process ended (a failed unit would stay loaded, with
# its Result).
success_id=7ad2d189f7e94e70a38c781354912448   # "Deactivated successfully"
exit_id=98e322203f7a4ed290d09fe03c09fe15      # main process exited uncleanly
before=$(journal_count _PID=1 UNIT="$unit" MESSAGE_ID=$success_id)
assert_ok systemctl stop "$unit"
assert_unit_state "$unit" ActiveState=inactive Result=success
wait_until 10 test "$(journal_count _PID=1 UNIT="$unit" MESSAGE_ID=$success_id)" -gt "$before"
assert_journal_count 0 _PID=1 UNIT="$unit" MESSAGE_ID=$exit_id
[[ ! -e /proc/$pid ]] || fail "memqosd (PID $pid) after stop" "expected: gone" "seen: $(ps -o pid,stat,cmd -p "$pid")"

step "no error logged"
assert_journal_count 0 -u "$unit" -p err _PID="$pid"
