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
        local dir=$1 sub pid
        [[ -d $dir ]] || return 0
        for sub in "$dir"/*/; do
                [[ -d $sub ]] && remove_tree "${sub%/}"
        done
        for _ in $(seq 100); do
                while read -r pid; do kill -KILL "$pid" 2>/dev/null; done <"$dir/cgroup.procs"
                rmdir "$dir" 2>/dev/null && return 0
                sleep 0.05
        done
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

# Runs ARGS in cgroup DIR (its own shell moves itself there first).
run_in() {
        local dir=$1
        shift
        sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$dir" "$@"
}
