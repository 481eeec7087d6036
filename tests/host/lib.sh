# SPDX-License-Identifier: LGPL-2.1-or-later
# Shell helpers shared by the host tests that run memqosd in the foreground
# (test-daemon.sh, test-emulate.sh). Sourced; defines $v1 and functions.

v1=/sys/fs/cgroup/memory

# Exits 77 (skip) unless this runs as root with the cgroup v1 memory
# hierarchy at $v1.
require_root_and_v1() {
        [[ $(id -u) -eq 0 && -w $v1/cgroup.procs ]] || { echo "skip: needs root and $v1"; exit 77; }
}

remove_tree() {
        local dir=$1 sub pid try
        [[ -d $dir ]] || return 0
        for sub in "$dir"/*/; do
                [[ -d $sub ]] && remove_tree "${sub%/}"
        done
        # no fork per try: kill-wide removes 600 cgroups, and a fork costs
        # tens of ms on a loaded 2-core machine
        for ((try = 0; try < 100; try++)); do
                while read -r pid; do kill -KILL "$pid" 2>/dev/null; done <"$dir/cgroup.procs"
                rmdir "$dir" 2>/dev/null && return 0
                sleep 0.05
        done
}

# fail_showing LOG MESSAGE...: says FAIL with MESSAGE and the end of LOG
# (memqosd's output), and exits 1.
fail_showing() {
        local log=$1
        shift
        printf 'FAIL: %s\n--- memqosd output (last 40 lines):\n' "$*"
        tail -n 40 "$log" 2>/dev/null
        exit 1
}

# wait_for SECONDS CMD...: poll until CMD succeeds.
wait_for() {
        local deadline=$((SECONDS + $1))
        shift
        until "$@"; do
                ((SECONDS < deadline)) || return 1
                sleep 0.1
        done
}

# started_lines LOG: how many "started:" lines memqosd has written to LOG.
started_lines() {
        local n
        n=$(grep -c "started:" "$1" 2>/dev/null)
        echo "${n:-0}"
}

# wait_started LOG BEFORE: a memqosd started after LOG had BEFORE
# "started:" lines has written its own (a restart appends to the same log:
# the first run's line must not pass for the second's, or a client may
# connect to the old socket before the new daemon listens).
wait_started() {
        wait_for 10 started_since "$1" "$2"
}
started_since() { (($(started_lines "$1") > $2)); }

# Runs ARGS in cgroup DIR (its own shell moves itself there first).
run_in() {
        local dir=$1
        shift
        sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$dir" "$@"
}

# start_private_system_bus DIR POLICY: a dbus-daemon like the system bus (its
# default policy, plus the policy file POLICY) listening on DIR/bus, in the
# background ($private_bus_pid; the caller kills it), with
# DBUS_SYSTEM_BUS_ADDRESS exported to point at it. 1 when it did not start.
start_private_system_bus() {
        local dir=$1 policy=$2
        cat >"$dir/bus.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <auth>EXTERNAL</auth>
  <listen>unix:path=$dir/bus</listen>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
  </policy>
  <include>$policy</include>
</busconfig>
CONF
        dbus-daemon --config-file="$dir/bus.conf" --nofork --nopidfile 2>"$dir/bus.log" &
        private_bus_pid=$!
        export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$dir/bus
        wait_for 10 test -S "$dir/bus"
}

# A file of MB MiB that is in nobody's page cache (written with O_DIRECT and
# dropped again), so that the first read charges its pages to the reader.
make_file() {
        dd if=/dev/zero of="$1" bs=1M count="$2" oflag=direct status=none || fail "cannot write $1"
        dd if="$1" iflag=nocache count=0 status=none
}

# read_in DIR FILE: FILE's pages go into DIR's page cache (clean).
read_in() {
        dd if="$2" iflag=nocache count=0 status=none
        run_in "$1" cat "$2" >/dev/null || fail "cannot read $2 in $1"
}
