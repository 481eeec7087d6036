# SPDX-License-Identifier: LGPL-2.1-or-later
# Helpers of the core scenarios (memqosd following units), on top of lib.sh.

MEMQOS_STATE=/run/memqos/units
MSG_POLICY=4817973db7494c288d1b11496cabc3fb
MSG_INVALID=c96034bc5fb04eb19f8c213e854f51f0
MSG_MISSING=2005f7750bbf40d68e14cda14e1d0eea
MSG_BACKEND=b170d7eae06c4c1180499c441bae1148
MSG_LIMIT=92602d1d16dd4fe5a6427cf727d98e30

# Whether this kernel has the patched memcg files (memqos' kernel/ or Anolis).
kernel_has_priority() {
        local root=/sys/fs/cgroup
        [[ $MEMQOS_VM_LAYOUT == v1 ]] && root=/sys/fs/cgroup/memory
        [[ -e $root/system.slice/memory.priority ]]
}

memcg_dir() {
        if [[ $MEMQOS_VM_LAYOUT == v1 ]]; then
                echo "/sys/fs/cgroup/memory$1"
        else
                echo "/sys/fs/cgroup$1"
        fi
}

# state_get UNIT KEY: a value from memqosd's state file of UNIT.
state_get() {
        sed -n "s/^$2=//p" "$MEMQOS_STATE/$1" 2>/dev/null || true
}

state_is() {
        [[ "$(state_get "$1" "$2")" == "$3" ]]
}

# wait_state UNIT KEY VALUE: the state file says so within 20 s.
wait_state() {
        local deadline=$((SECONDS + 20))
        until state_is "$1" "$2" "$3"; do
                ((SECONDS < deadline)) ||
                        fail "state of $1: $2" "expected: '$3'" "seen:     '$(state_get "$1" "$2")'" \
                             "state file:" "$(cat "$MEMQOS_STATE/$1" 2>&1 || true)" \
                             "memqosd's journal:" "$(journalctl --no-pager -b -u memqosd -n 20 -o cat)"
                sleep 0.2
        done
}

# The knob as the kernel has it, or the state memqos reports when it lacks it:
# on a stock kernel "emulated" (Backend=auto: memqosd does the work itself),
# on a patched one the value itself.
assert_knob() {
        local unit=$1 key=$2 file=$3 value=$4 cg
        wait_state "$unit" "$key" "$value"
        if kernel_has_priority; then
                cg=$(state_get "$unit" CGROUP)
                assert_eq "$value" "$(cat "$(memcg_dir "$cg")/$file")" "$file of $unit"
                assert_match '^(written|in-place)$' "$(state_get "$unit" "${key}_STATE")" "${key}_STATE of $unit"
        else
                assert_eq emulated "$(state_get "$unit" "${key}_STATE")" "${key}_STATE of $unit"
        fi
}

install_dropin() {
        local unit=$1 name=$2
        mkdir -p "/etc/systemd/system/$unit.d"
        cat >"/etc/systemd/system/$unit.d/$name"
}

# memqosd_conf_add TEXT: TEXT appended to a drop-in of memqos.conf
# (memqos.conf.d/90-scenario.conf: a later file wins), and memqosd, if it
# runs, restarted, since a backend is chosen at start. memqosd_conf_restore
# removes the drop-in (call it from the scenario's cleanup).
MEMQOS_CONF_DROPIN=/etc/memqos/memqos.conf.d/90-scenario.conf
memqosd_conf_add() {
        mkdir -p "${MEMQOS_CONF_DROPIN%/*}"
        printf '%s\n' "$1" >>"$MEMQOS_CONF_DROPIN"
        systemctl try-restart memqosd.service
}

memqosd_conf_restore() {
        [[ -e $MEMQOS_CONF_DROPIN ]] || return 0
        rm -f "$MEMQOS_CONF_DROPIN"
        systemctl try-restart memqosd.service
}

# A patched kernel reclaims at its own wmark and has its own priority OOM:
# scenarios about memqosd's own work turn the kernel's backend off for
# FEATURE (Reclaim or OOM) there.
emulate_on_patched_kernel() {
        kernel_has_priority || return 0
        memqosd_conf_add "[$1]"$'\n'"Backend=emulate"
}

start_memqosd() {
        systemctl start memqosd.service
        assert_unit_state memqosd.service ActiveState=active
}

# wait_stopped UNIT: memqosd has seen UNIT stop: its state file says ACTIVE=no
# or is gone (systemd collects a stopped slice or scope and memqosd forgets it).
wait_stopped() {
        local deadline=$((SECONDS + 20))
        until [[ ! -e $MEMQOS_STATE/$1 ]] || state_is "$1" ACTIVE no; do
                ((SECONDS < deadline)) ||
                        fail "memqosd saw $1 stop" "state file:" "$(cat "$MEMQOS_STATE/$1" 2>&1)"
                sleep 0.2
        done
}
