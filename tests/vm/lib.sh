# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Assertion helpers for the guest scenarios (tests/vm/scenarios/*.sh).
# A scenario sources this file: . "$MEMQOS_VM_LIB"
#
# Every assert_* stops the scenario at the first failure, after printing what
# was expected and what was seen; a command that fails outside an assertion
# stops it too (set -e), naming the line. The runner counts a scenario as
# passed only when it exits 0.
#
# The runner exports MEMQOS_VM_LAYOUT (v1 or v2) and MEMQOS_VM_DIR (where
# lib.sh, the scenarios and installed-files, the list of files meson
# installed, live).

set -eEuo pipefail

trap '_vm_on_error $? "$BASH_COMMAND" "${BASH_SOURCE[0]}" "$LINENO"' ERR

_vm_on_error() {
        printf 'FAIL: command exited with %s at %s:%s\n  %s\n' "$1" "$3" "$4" "$2"
        exit 1
}

# fail WHAT [DETAIL...]: report a failed expectation and end the scenario.
fail() {
        local what=$1 line
        shift
        printf 'FAIL: %s\n' "$what"
        for line in "$@"; do
                printf '%s\n' "$line" | sed 's/^/  /'
        done
        # the outermost frame: the scenario's own line
        printf '  (at %s:%s)\n' "${BASH_SOURCE[-1]}" "${BASH_LINENO[-2]}"
        exit 1
}

# step TEXT: a heading in the scenario's log, so a failure shows its context.
step() {
        printf -- '--- %s\n' "$*"
}

assert_eq() {
        local expected=$1 actual=$2 what=${3:-value}
        [[ "$actual" == "$expected" ]] ||
                fail "$what" "expected: '$expected'" "seen:     '$actual'"
}

assert_ne() {
        local unexpected=$1 actual=$2 what=${3:-value}
        [[ "$actual" != "$unexpected" ]] ||
                fail "$what" "expected anything but: '$unexpected'" "seen: '$actual'"
}

# assert_match REGEX ACTUAL [WHAT]: ACTUAL matches the extended regex REGEX.
assert_match() {
        local regex=$1 actual=$2 what=${3:-value}
        [[ "$actual" =~ $regex ]] ||
                fail "$what" "expected to match: $regex" "seen: '$actual'"
}

# assert_file_contains FILE REGEX: some line of FILE matches (grep -E).
assert_file_contains() {
        local file=$1 regex=$2
        [[ -r "$file" ]] || fail "$file" "expected a readable file" "seen: no such file"
        grep -Eq -- "$regex" "$file" ||
                fail "$file" "expected a line matching: $regex" \
                     "seen (first 20 lines):" "$(head -n 20 "$file")"
}

# assert_jq FILE WHAT FILTER...: jq parses FILE (one JSON text, or several
# for a FILTER that reads them with inputs), and each FILTER on it gives one
# value that is neither false nor null (as jq -e). One jq run for all the
# FILTERs: every jq start is slow under TCG.
assert_jq() {
        local file=$1 what=$2 program= filter out rc=0 i=0
        local -a results
        shift 2
        for filter in "$@"; do
                program+="${program:+, }(($filter) | . != false and . != null)"
        done
        out=$(jq -r "$program" "$file" 2>&1) || rc=$?
        [[ $rc -eq 0 ]] ||
                fail "$what" "expected jq to parse and evaluate: $program" "seen (jq exit $rc): $out" \
                     "on (its first 2000 bytes):" "$(head -c 2000 "$file")"
        mapfile -t results <<<"$out"
        for filter in "$@"; do
                [[ ${results[i]:-} == true ]] ||
                        fail "$what" "expected true: jq '$filter'" "seen: ${results[i]:-no value}" \
                             "on (its first 2000 bytes):" "$(head -c 2000 "$file")"
                i=$((i + 1))
        done
}

# assert_ok CMD...: CMD exits 0; on failure shows its exit status and output.
assert_ok() {
        local out rc=0
        out=$("$@" 2>&1) || rc=$?
        [[ $rc -eq 0 ]] ||
                fail "$*" "expected exit status 0" "seen: $rc, output:" "$out"
        [[ -z "$out" ]] || printf '%s\n' "$out"
}

# wait_until SECONDS CMD...: poll CMD until it succeeds; fail after SECONDS.
wait_until() {
        local timeout=$1 deadline
        shift
        deadline=$((SECONDS + timeout))
        until "$@" >/dev/null 2>&1; do
                ((SECONDS < deadline)) ||
                        fail "wait_until $timeout $*" "expected to succeed within ${timeout}s" \
                             "seen: still failing, last output:" "$("$@" 2>&1 || true)"
                sleep 0.2
        done
}

# unit_prop UNIT PROPERTY: the property's value as systemctl show prints it.
unit_prop() {
        systemctl show -P "$2" "$1"
}

# assert_unit_state UNIT PROP=VALUE...: every listed property has that value,
# e.g. assert_unit_state memqosd.service ActiveState=active SubState=running
assert_unit_state() {
        local unit=$1 pair prop want seen bad=()
        shift
        for pair in "$@"; do
                prop=${pair%%=*}
                want=${pair#*=}
                seen=$(unit_prop "$unit" "$prop")
                [[ "$seen" == "$want" ]] || bad+=("$prop: expected '$want', seen '$seen'")
        done
        [[ ${#bad[@]} -eq 0 ]] ||
                fail "state of $unit" "${bad[@]}" "systemctl status:" \
                     "$(systemctl status --no-pager -l -n 20 "$unit" 2>&1 || true)"
}

# journal_count JOURNALCTL-ARGS...: how many journal entries match, e.g.
# journal_count -u memqosd MESSAGE_ID=dfbf0f22d1f046ffbc1ada53e52ccd3d
journal_count() {
        { journalctl --no-pager -q -b -o json "$@" || true; } | wc -l
}

journal_has() {
        [[ $(journal_count "$@") -gt 0 ]]
}

# assert_journal JOURNALCTL-ARGS...: at least one entry matches within 10 s
# (journald stores asynchronously).
assert_journal() {
        local deadline=$((SECONDS + 10))
        until journal_has "$@"; do
                ((SECONDS < deadline)) ||
                        fail "journal entry: journalctl $*" "expected at least one entry" \
                             "seen: none; this boot's last 30 lines:" \
                             "$(journalctl --no-pager -b -n 30 -o short-monotonic)"
                sleep 0.2
        done
}

# assert_journal_count N JOURNALCTL-ARGS...: exactly N entries match.
assert_journal_count() {
        local want=$1 seen
        shift
        seen=$(journal_count "$@")
        [[ "$seen" -eq "$want" ]] ||
                fail "number of entries: journalctl $*" "expected: $want" "seen:     $seen" \
                     "$(journalctl --no-pager -b -o short-monotonic "$@" | tail -n 20)"
}

# installed_files [REGEX]: absolute paths meson installed, optionally filtered.
installed_files() {
        grep -E -- "${1:-.}" "$MEMQOS_VM_DIR/installed-files" || true
}
