#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The Debian package as an operator meets it (tests/deb/build, debian/): the
# runner installed it with apt; here it is purged, the previous build
# installed, the conffile edited, upgraded (the edit stays, memqosd restarts
# on the new files), removed (ExecStopPost= puts a squeezed v1 limit back)
# and purged (no state, no config, no unit, no catalog entry), then installed
# again for the scenarios after this one.
# install: deb
# kernels: stock
. "$MEMQOS_VM_LIB"
. "$MEMQOS_VM_DIR/core.sh"

debs=$MEMQOS_VM_DIR/debs
current=$debs/$(cat "$debs/current")
previous=$(ls "$debs"/memqos_*~prev_*.deb)
started_id=dfbf0f22d1f046ffbc1ada53e52ccd3d
MSG_LIMIT_RESTORED=8f82f42ea5d245c8af662cbc3660f4c2

apt_install() { DEBIAN_FRONTEND=noninteractive apt-get install -y -q --allow-downgrades "$@"; }
apt_purge() { DEBIAN_FRONTEND=noninteractive apt-get purge -y -q "$@"; }
version() { dpkg-query -W -f='${Status} ${Version}' memqos 2>/dev/null || true; }
active() { [[ $(systemctl is-active memqosd.service) == active ]]; }

cleanup() {
        systemctl stop pkg.slice 2>/dev/null || true
        rm -rf /etc/systemd/system/pkg.slice.d
        # the scenarios after this one expect the package installed and memqosd
        # running, as the runner left it
        [[ $(version) == "install ok installed $(dpkg-deb -f "$current" Version)" ]] ||
                apt_install "$current" >/dev/null 2>&1 || true
        systemctl daemon-reload
        systemctl start memqosd.service 2>/dev/null || true
}
trap cleanup EXIT

# man-db's trigger would rebuild its index of every manual page after each
# of the six apt runs below (TCG time spent on what is not ours to test);
# man finds pages without the index, as 20-unit-verify needs.
rm -f /var/lib/man-db/auto-update

step "installed by apt: enabled and running, the conffile registered"
assert_eq "install ok installed $(dpkg-deb -f "$current" Version)" "$(version)" "memqos package"
assert_eq enabled "$(systemctl is-enabled memqosd.service)" "memqosd.service enabled by the package"
wait_until 30 active
assert_match '/etc/memqos/memqos.conf' "$(dpkg-query -W -f='${Conffiles}' memqos)" "conffiles"
assert_ne "" "$(journalctl --list-catalog --no-pager | grep -i memqos || true)" "memqos's catalog entries (systemd's trigger)"

step "purge, then the previous build"
assert_ok apt_purge memqos
assert_ok apt_install "$previous"
assert_eq "install ok installed $(dpkg-deb -f "$previous" Version)" "$(version)" "memqos package"
wait_until 30 active

step "a local edit of memqos.conf survives the upgrade; memqosd restarts"
echo "# a local edit, kept on upgrade" >>/etc/memqos/memqos.conf
pid=$(unit_prop memqosd.service MainPID)
starts=$(journal_count -u memqosd.service MESSAGE_ID=$started_id)
assert_ok apt_install "$current"
assert_eq "install ok installed $(dpkg-deb -f "$current" Version)" "$(version)" "memqos package after the upgrade"
assert_match 'a local edit, kept on upgrade' "$(tail -n 1 /etc/memqos/memqos.conf)" "memqos.conf after the upgrade"
assert_eq "" "$(ls /etc/memqos/memqos.conf.dpkg-* 2>/dev/null || true)" "dpkg's conffile leftovers"
wait_until 30 active
assert_ne "$pid" "$(unit_prop memqosd.service MainPID)" "memqosd's MainPID after the upgrade"
more_starts() { (($(journal_count -u memqosd.service MESSAGE_ID=$started_id) > starts)); }
wait_until 30 more_starts

step "remove: memqosd stops, and a limit it left squeezed is put back"
if [[ $MEMQOS_VM_LAYOUT == v1 ]]; then
        systemctl start pkg.slice
        systemd-run --quiet --scope --unit=pkg-a --slice=pkg.slice sleep infinity &
        wait_until 30 test -d "$(memcg_dir /pkg.slice/pkg-a.scope)"
        a=$(memcg_dir /pkg.slice/pkg-a.scope)
        echo -1 >"$a/memory.limit_in_bytes"
        unlimited=$(cat "$a/memory.limit_in_bytes")
        # memqosd "died mid-squeeze": its record and the squeezed limit (the
        # record format of src/emulate/squeeze.c, as 52-squeeze-restore makes it)
        mkdir -p /run/memqos/squeeze
        printf 'CGROUP=/pkg.slice/pkg-a.scope\nLIMIT=max\nSQUEEZED=%s\n' $((16 << 20)) \
                >'/run/memqos/squeeze/pkg.slice-pkg\x2da.scope'
        echo $((16 << 20)) >"$a/memory.limit_in_bytes"
        restored=$(journal_count MESSAGE_ID=$MSG_LIMIT_RESTORED MEMQOS_CGROUP=/pkg.slice/pkg-a.scope)
fi
assert_ok apt-get remove -y -q memqos
assert_eq "deinstall ok config-files $(dpkg-deb -f "$current" Version)" "$(version)" "memqos package after remove"
assert_ne active "$(systemctl is-active memqosd.service)" "memqosd after remove"
test -e /etc/memqos/memqos.conf || fail "memqos.conf is gone after remove (a conffile stays until purge)"
if [[ $MEMQOS_VM_LAYOUT == v1 ]]; then
        assert_eq "$unlimited" "$(cat "$a/memory.limit_in_bytes")" "pkg-a.scope's limit after remove"
        assert_eq "" "$(ls /run/memqos/squeeze 2>/dev/null || true)" "squeeze records after remove"
        more_restored() { (($(journal_count MESSAGE_ID=$MSG_LIMIT_RESTORED MEMQOS_CGROUP=/pkg.slice/pkg-a.scope) > restored)); }
        wait_until 10 more_restored
fi

step "purge: no config, no state, no unit, no catalog entry"
assert_ok apt_purge memqos
assert_eq "" "$(version)" "memqos package after purge"
for gone in /etc/memqos /run/memqos /usr/sbin/memqosd /usr/share/memqos; do
        test ! -e "$gone" || fail "$gone is still there after purge" "$(ls -la "$gone" 2>&1)"
done
systemctl daemon-reload
assert_eq not-found "$(unit_prop memqosd.service LoadState)" "memqosd.service after purge"
assert_eq "" "$(journalctl --list-catalog --no-pager | grep -i memqos || true)" "memqos's catalog entries after purge"

step "installed again for the next scenarios"
assert_ok apt_install "$current"
wait_until 30 active
