#!/bin/bash
# layouts: v1 v2
# kernels: stock
# The pressure socket (#15) under systemd: two services started with the
# shipped drop-in (dropins/memqos-pressure.conf) connect to
# /run/memqos/pressure.sock through $MEMORY_PRESSURE_WATCH; when one's usage
# crosses its NoticeThresholds=, its processes hear of it and the other's
# do not. On systemd 254 and later also which $MEMORY_PRESSURE_WATCH wins,
# systemd's own or Environment=; systemd's own systemd-journald, pointed at
# memqos by the shipped drop-in, connects (memqosd says so), is told when its
# unit crosses a NoticeThresholds= and flushes its caches (it says so); and
# on Debian 13 a service built on libsystemd's own
# sd_event_add_memory_pressure() hears its crossing through the drop-in
# alone. The clients, tests/host/pressure-client as memqos-pressure-client
# and on trixie tests/vm/pressure/sd-pressure-client.c (built against
# libsystemd 257 in tests/deb/build's Debian 13 chroot), are put into the
# guest by tests/vm/run.
. "$MEMQOS_VM_LIB"
. "$MEMQOS_VM_DIR/core.sh"

MSG_NOTIFIED=a2e5df67d2264412b1308f5422de46ce
CLIENT=/usr/local/bin/memqos-pressure-client
SD_CLIENT=/usr/local/bin/sd-pressure-client
SOCKET=/run/memqos/pressure.sock

JOURNALD_DROPINS=/etc/systemd/system/systemd-journald.service.d
MEMQOSD_DEBUG=/etc/memqos/memqos.conf.d/60-pressure-debug.conf
SHM_FILE=/dev/shm/memqos-60-journald

cleanup() {
        systemctl stop pressure-a.service pressure-b.service pressure-c.service pressure-sd.service 2>/dev/null || true
        rm -rf /etc/systemd/system/pressure-[abc].service* /etc/systemd/system/pressure-sd.service*
        rm -f "$SHM_FILE"
        local journald=
        if [[ -e $JOURNALD_DROPINS/60-memqos-pressure.conf ]]; then
                rm -f "$JOURNALD_DROPINS"/6[01]-memqos-*.conf
                journald=pointed
        fi
        systemctl daemon-reload
        # journald as it was, for the scenarios after this one
        [[ -z $journald ]] || systemctl restart systemd-journald.service
        if [[ -e $MEMQOSD_DEBUG ]]; then
                rm -f "$MEMQOSD_DEBUG"
                systemctl reload memqosd.service || true
        fi
}
trap cleanup EXIT

[[ -x $CLIENT ]] || fail "no $CLIENT (tests/vm/run puts tests/host/pressure-client there)"
[[ $MEMQOS_VM_RELEASE != trixie || -x $SD_CLIENT ]] ||
        fail "no $SD_CLIENT (tests/vm/run builds it in tests/deb/build's Debian 13 chroot: bash tests/deb/build DIR --release trixie)"
for s in a b; do
        cat >/etc/systemd/system/pressure-$s.service <<UNIT
[Service]
MemoryMax=64M
ExecStart=/bin/sh -c 'exec $CLIENT "\$MEMORY_PRESSURE_WATCH" listen >/run/pressure-$s.out 2>&1'
UNIT
        install_dropin pressure-$s.service 60-memqos-pressure.conf </usr/share/memqos/dropins/memqos-pressure.conf
done
systemctl daemon-reload
start_memqosd
assert_ok test -S $SOCKET

step "the drop-in points the services at the socket"
systemctl start pressure-a.service pressure-b.service
assert_match "MEMORY_PRESSURE_WATCH=$SOCKET" "$(systemctl show -P Environment pressure-a.service)" "Environment="
wait_until 10 grep -q ready /run/pressure-a.out
wait_until 10 grep -q ready /run/pressure-b.out
wait_state pressure-a.service LIMIT_BYTES 67108864
assert_match "NoticeThresholds=80%" "$(journalctl -b -q -u pressure-a.service -o cat --no-pager)" "policy in force"

step "pressure-a crosses 80% of 64M: its processes hear, pressure-b's do not"
cg=$(memcg_dir /system.slice/pressure-a.service)
# A second client of pressure-a, in its cgroup, that allocates 56M itself and
# waits for its notice (10 s at most: v2 samples every second).
out=$(sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$cg" $CLIENT $SOCKET crossings 1 $((56 << 20)))
assert_match "^ready" "$out" "the allocating client connected"
assert_match "^[0-9]+$" "$(tail -n 1 <<<"$out")" "the allocating client heard (latency in us: $(tail -n 1 <<<"$out"))"
wait_until 10 grep -q "level=threshold" /run/pressure-a.out
assert_match "^memqos level=threshold usage=[0-9]+ limit=67108864 threshold=53687091 want=[0-9]+$" \
        "$(grep level= /run/pressure-a.out | head -n 1)" "the service's notice line"
assert_eq 0 "$(grep -c level= /run/pressure-b.out || true)" "notices heard by pressure-b"
assert_journal -u pressure-a.service MESSAGE_ID=$MSG_NOTIFIED MEMQOS_CLIENTS=2 MEMQOS_THRESHOLD_BYTES=53687091
assert_journal_count 0 -u pressure-b.service MESSAGE_ID=$MSG_NOTIFIED

step "a memqosd restart: the socket is back, the services reconnect when they restart"
systemctl restart memqosd.service
assert_ok test -S $SOCKET
grep -q closed /run/pressure-a.out || fail "pressure-a's client did not see memqosd go"

# systemd 254 and later set $MEMORY_PRESSURE_WATCH themselves (to the
# cgroup's memory.pressure) unless MemoryPressureWatch=off: which one does a
# service see when it also has Environment=MEMORY_PRESSURE_WATCH=?
systemd_version=$(systemctl --version | sed -n '1s/^systemd \([0-9]*\).*/\1/p')
if ((systemd_version >= 254)); then
        step "systemd $systemd_version: MemoryPressureWatch=on beside Environment="
        cat >/etc/systemd/system/pressure-c.service <<'UNIT'
[Service]
MemoryMax=64M
MemoryPressureWatch=on
Environment=MEMORY_PRESSURE_WATCH=/run/memqos/pressure.sock
ExecStart=/bin/sh -c 'printenv MEMORY_PRESSURE_WATCH >/run/pressure-c.env; exec sleep infinity'
UNIT
        systemctl daemon-reload
        systemctl start pressure-c.service
        wait_until 10 test -s /run/pressure-c.env
        echo "systemd $systemd_version, MemoryPressureWatch=on and Environment=: the service sees $(cat /run/pressure-c.env)"
        # Seen on 257 (Debian 13): Environment= wins.
        assert_eq /run/memqos/pressure.sock "$(cat /run/pressure-c.env)" "the \$MEMORY_PRESSURE_WATCH the service sees"
fi

# One of systemd's own daemons, pointed at memqos: journald takes each notice
# as memory pressure (sd_event_add_memory_pressure() since 254), flushes its
# caches and logs so at info level.
if ((systemd_version >= 254)); then
        step "systemd $systemd_version: systemd-journald with the shipped drop-in connects, is told of its crossing, flushes its caches"
        # memqosd says who connected at debug level
        mkdir -p "${MEMQOSD_DEBUG%/*}"
        printf '[Daemon]\nLogLevel=debug\n' >"$MEMQOSD_DEBUG"
        systemctl reload memqosd.service
        # With the shipped drop-in a NoticeThresholds= 16M above journald's
        # usage now (its unit has no limit for the drop-in's 80%): one
        # daemon-reload and one restart for both (each costs seconds in TCG).
        cg=$(memcg_dir /system.slice/systemd-journald.service)
        usage=$(cat "$cg/memory.current" 2>/dev/null || cat "$cg/memory.usage_in_bytes")
        threshold=$(((usage >> 20) + 16))
        install_dropin systemd-journald.service 60-memqos-pressure.conf </usr/share/memqos/dropins/memqos-pressure.conf
        install_dropin systemd-journald.service 61-memqos-notice.conf <<UNIT
[X-MemQoS]
NoticeThresholds=
NoticeThresholds=${threshold}M
UNIT
        cursor=$(journalctl -q -n 0 --show-cursor | sed -n 's/^-- cursor: //p')
        systemctl daemon-reload
        systemctl restart systemd-journald.service
        pid=$(systemctl show -P MainPID systemd-journald.service)
        assert_eq "MEMORY_PRESSURE_WATCH=$SOCKET" "$(tr '\0' '\n' </proc/"$pid"/environ | grep '^MEMORY_PRESSURE_WATCH=')" \
                "systemd-journald's \$MEMORY_PRESSURE_WATCH"
        connected="process $pid of cgroup /system.slice/systemd-journald.service connected"
        wait_until 10 bash -c "journalctl -b -q -u memqosd.service --after-cursor='$cursor' -o cat | grep -qF '$connected'"
        journalctl -b -q -u memqosd.service --after-cursor="$cursor" -o cat | grep -F "$connected"

        # The new journald's cgroup goes 16M over the threshold: tmpfs charged to it.
        wait_until 10 bash -c "journalctl -b -q -u systemd-journald.service --after-cursor='$cursor' MESSAGE_ID=$MSG_POLICY -o cat |
                grep -qF 'NoticeThresholds=${threshold}M'"
        usage=$(cat "$cg/memory.current" 2>/dev/null || cat "$cg/memory.usage_in_bytes")
        ((usage < threshold << 20)) || fail "systemd-journald's usage is over the threshold already" "usage $usage, threshold ${threshold}M"
        sleep 1.5 # v2: the watch's first sample puts usage below the threshold
        sh -c 'echo $$ >"$0/cgroup.procs" && exec dd if=/dev/zero of="$1" bs=1M count="$2" status=none' \
                "$cg" "$SHM_FILE" $((threshold + 16 - (usage >> 20)))
        wait_until 10 journal_has -u systemd-journald.service --after-cursor="$cursor" MESSAGE_ID=$MSG_NOTIFIED
        told=$(journalctl -b -q --after-cursor="$cursor" MESSAGE_ID=$MSG_NOTIFIED \
                OBJECT_SYSTEMD_UNIT=systemd-journald.service -o export | sed -n 's/^MEMQOS_CLIENTS=//p' | sort -n | tail -n 1)
        echo "NOTIFIED for systemd-journald.service at ${threshold}M: told ${told:-none}"
        [[ ${told:-0} -ge 1 ]] || fail "NOTIFIED for systemd-journald.service told no client" \
                "$(journalctl -b -q --after-cursor="$cursor" MESSAGE_ID=$MSG_NOTIFIED -o cat)"
        wait_until 10 bash -c "journalctl -b -q --after-cursor='$cursor' -o cat | grep -q 'Under memory pressure, flushing caches'"
        journalctl -b -q --after-cursor="$cursor" -o short-monotonic | grep 'Under memory pressure, flushing caches' | head -n 1
        rm -f "$SHM_FILE" "$MEMQOSD_DEBUG"
        systemctl reload memqosd.service
fi

if [[ -x $SD_CLIENT ]] && ((systemd_version >= 254)); then
        step "systemd $systemd_version: a service on libsystemd's sd_event_add_memory_pressure() hears its crossing"
        cat >/etc/systemd/system/pressure-sd.service <<UNIT
[Service]
MemoryMax=64M
ExecStart=/bin/sh -c 'exec $SD_CLIENT >/run/pressure-sd.out 2>&1'
UNIT
        install_dropin pressure-sd.service 60-memqos-pressure.conf </usr/share/memqos/dropins/memqos-pressure.conf
        systemctl daemon-reload
        systemctl start pressure-sd.service
        wait_until 10 grep -q ready /run/pressure-sd.out
        wait_state pressure-sd.service LIMIT_BYTES 67108864
        sleep 1.5 # memqosd identifies the client at its notice; its watch is armed
        cg=$(memcg_dir /system.slice/pressure-sd.service)
        # memqos's own client allocates 56M in the service's cgroup (over 80%
        # of 64M) and waits for its own notice: then the service had its turn.
        out=$(sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$cg" $CLIENT $SOCKET crossings 1 $((56 << 20)))
        assert_match "^[0-9]+$" "$(tail -n 1 <<<"$out")" "the allocating client heard"
        wait_until 10 grep -q "^pressure 1$" /run/pressure-sd.out
        assert_journal -u pressure-sd.service MESSAGE_ID=$MSG_NOTIFIED MEMQOS_CLIENTS=2 MEMQOS_THRESHOLD_BYTES=53687091
fi
