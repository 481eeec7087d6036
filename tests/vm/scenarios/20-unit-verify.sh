#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# kernels: stock
# systemd-analyze verify is silent on every unit file meson installed, and on
# every drop-in meson installed, verified on its unit with the drop-in in
# place (and seen in the unit's DropInPaths).
# layouts: v1 v2
# kernels: stock (it does not depend on the kernel's memcg files)
. "$MEMQOS_VM_LIB"

types='service|slice|socket|scope|timer|target|path|mount'

# verify_clean UNIT-OR-FILE...: exit 0 and no output at all.
verify_clean() {
        local out rc=0
        out=$(cd / && systemd-analyze verify "$@" 2>&1) || rc=$?
        [[ $rc -eq 0 && -z "$out" ]] ||
                fail "systemd-analyze verify $*" "expected: exit 0, no output" "seen: exit $rc, output:" "$out"
}

mapfile -t units < <(installed_files "\.($types)\$" | grep -vE "\.($types)\.d/")
assert_match '(^| )/(usr/)?lib/systemd/system/memqosd\.service( |$)' "${units[*]}" \
        "installed unit files"

# One systemd-analyze for all of them: each run loads every unit of the
# system first, which under TCG is most of the cost (a failure names the file).
step "verify ${units[*]}"
verify_clean "${units[@]}"

# drop-ins placed for the check go again, even when it fails
placed_files=()
cleanup() {
        [[ ${#placed_files[@]} -eq 0 ]] && return
        rm -f "${placed_files[@]}"
        systemctl daemon-reload
}
trap cleanup EXIT

mapfile -t dropins < <(installed_files "\.($types)\.d/[^/]+\.conf\$")
# All drop-ins in place at once, one daemon-reload, one verify of the units
# they apply to: each is on its unit's DropInPaths, and the lot is clean.
verified=()
declare -A placed_of=()
for d in "${dropins[@]}"; do
        dir=$(basename "$(dirname "$d")")
        unit=${dir%.d}
        # a prefix drop-in (kubepods-.slice.d) applies to kubepods-*.slice
        [[ $unit == *-.* ]] && unit=${unit%-.*}-memqosvm.${unit##*.}

        case $d in
        /etc/systemd/system/*|/run/systemd/system/*|/usr/lib/systemd/system/*|/lib/systemd/system/*)
                placed=$d ;;
        *)
                placed=/run/systemd/system/$dir/$(basename "$d")
                mkdir -p "$(dirname "$placed")"
                cp "$d" "$placed"
                placed_files+=("$placed") ;;
        esac
        placed_of[$d]=$placed
        verified+=("$unit")
done
systemctl daemon-reload
for i in "${!dropins[@]}"; do
        d=${dropins[$i]} unit=${verified[$i]}
        step "$unit has $d"
        assert_match "(^| )${placed_of[$d]}( |\$)" "$(unit_prop "$unit" DropInPaths)" "DropInPaths of $unit"
done
if ((${#verified[@]})); then
        step "verify ${verified[*]} with the drop-ins"
        verify_clean "${verified[@]}"
fi
