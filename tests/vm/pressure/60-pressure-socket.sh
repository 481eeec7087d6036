#!/bin/bash
# layouts: v1 v2
# kernels: stock
# The pressure socket (#15) under systemd: two services started with the
# shipped drop-in (dropins/memqos-pressure.conf) connect to
# /run/memqos/pressure.sock through $MEMORY_PRESSURE_WATCH; when one's usage
# crosses its NoticeThresholds=, its processes hear of it and the other's
# do not. On systemd 254 and later also which $MEMORY_PRESSURE_WATCH wins,
# systemd's own or Environment=; and, where sd-pressure-client is copied in
# (Debian 13), a service built on libsystemd's own
# sd_event_add_memory_pressure() hears its crossing through the drop-in alone.
# Not among CI's scenarios (its guest time is spent); run with (and
# --release trixie --install deb for systemd 257)
#   tests/vm/run --layout v2 --scenarios tests/vm/pressure/60-pressure-socket.sh \
#       --copy build-vm/tests/host/pressure-client:/usr/local/bin/memqos-pressure-client \
#       [--copy SD_CLIENT:/usr/local/bin/sd-pressure-client]
# (SD_CLIENT: tests/vm/pressure/sd-pressure-client.c built against libsystemd
# 254+, e.g. in tests/deb/build's Debian 13 chroot; tests/vm/README.md.)
. "$MEMQOS_VM_LIB"
. "$MEMQOS_VM_DIR/core.sh"

MSG_NOTIFIED=a2e5df67d2264412b1308f5422de46ce
CLIENT=/usr/local/bin/memqos-pressure-client
SD_CLIENT=/usr/local/bin/sd-pressure-client
SOCKET=/run/memqos/pressure.sock

cleanup() {
        systemctl stop pressure-a.service pressure-b.service pressure-c.service pressure-sd.service 2>/dev/null || true
        rm -rf /etc/systemd/system/pressure-[abc].service* /etc/systemd/system/pressure-sd.service*
        systemctl daemon-reload
}
trap cleanup EXIT

[[ -x $CLIENT ]] || fail "no $CLIENT: run with --copy build-vm/tests/host/pressure-client:$CLIENT"
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
