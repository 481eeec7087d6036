#!/bin/bash
# layouts: v1 v2
# kernels: stock
# (The API does not depend on the kernel's files.)
# memqosd's D-Bus API and memqosctl against live units (issue #16): busctl
# introspect; list, show and kill-order of two prioritized slices with a
# process each (their JSON, short and pretty, parsed by jq: fields and values,
# and a cut copy refused); a write as nobody refused;
# set -> daemon-reload -> the policy in force, a bad value refused with the
# drop-in's message; the Event signal; metrics through memqos-metrics.socket,
# and a real Prometheus (Debian's package) that scrapes it, asked through its
# HTTP API. The image keeps prometheus.service off at boot (a Go daemon at
# every boot under TCG would slow every scenario); this scenario starts its
# own first, so that its start (seconds under TCG, then 5 s before its scrape
# manager takes up the target) runs beside the steps before the scrape.
. "$MEMQOS_VM_LIB"
. "$MEMQOS_VM_DIR/core.sh"

cleanup() {
        [[ -n ${monitor:-} ]] && kill "$monitor" 2>/dev/null
        systemctl stop memqos-prometheus.service memqos-metrics.socket api-low-sleep.service \
                api-high-sleep.service api.slice 2>/dev/null || true
        systemctl reset-failed memqos-prometheus.service api-low-sleep.service api-high-sleep.service 2>/dev/null || true
        rm -rf /etc/systemd/system/api-low.slice.d /etc/systemd/system/api-high.slice.d \
                /run/systemd/system/api-low.slice.d /run/memqos-prometheus.yml
        systemctl daemon-reload
}
trap cleanup EXIT
nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }

# prom_get PATH: the body of our Prometheus's answer to GET PATH; fails unless
# 200. A subshell, so that a refused connection (Prometheus still starting)
# only fails the call.
prom_get() (
        exec 3<>/dev/tcp/127.0.0.1/9090
        printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$1" >&3
        reply=$(cat <&3)
        [[ $reply == HTTP/1.?" 200 "* ]] || { printf '%s\n' "$reply" >&2; exit 1; }
        printf '%s\n' "${reply#*$'\r\n\r\n'}"
)

# These two are polled, so they grep rather than start jq (slow under TCG),
# and sleep a second when false (wait_until polls every 0.2 s, and each poll
# costs Prometheus and the guest CPU that the scrape needs).
# The target is up: Prometheus has scraped it since the socket started.
memqos_target_up() {
        prom_get /api/v1/targets >/tmp/api-prom-targets &&
                grep -q '"health":"up"' /tmp/api-prom-targets || { sleep 1; return 1; }
}

# The memqos_* series of api-*.slice and those of no unit, now, into
# /tmp/api-prom-series, once they hold api-low.slice's priority set below.
# The query, URL-encoded: {__name__=~"memqos_.+",unit=~"api-.+[.]slice|"}
series_query='%7B__name__%3D~%22memqos_.%2B%22%2Cunit%3D~%22api-.%2B%5B.%5Dslice%7C%22%7D'
memqos_series_scraped() {
        prom_get "/api/v1/query?query=$series_query" >/tmp/api-prom-series &&
                grep -Eq '"__name__":"memqos_priority",[^}]*"unit":"api-low\.slice"\},"value":\[[0-9.]+,"3"\]' \
                        /tmp/api-prom-series || { sleep 1; return 1; }
}

step "prometheus.service is off; our Prometheus starts, to scrape 127.0.0.1:9788 every 5 s"
assert_eq disabled "$(systemctl is-enabled prometheus.service 2>&1 || true)" "prometheus.service enabled?"
assert_unit_state prometheus.service ActiveState=inactive
# Every 5 s, not every 1 s: a scrape (a memqos-metrics@ instance: its
# sandbox, memqosctl, two D-Bus calls) took 1-4 s of a loaded TCG guest, so
# 1 s scrapes timed out, piled up on the socket's per-source limit, and the
# target stayed down past 90 s on Debian 13.
cat >/run/memqos-prometheus.yml <<'YML'
global:
  scrape_interval: 5s
  scrape_timeout: 5s
scrape_configs:
  - job_name: memqos
    static_configs:
      - targets: ['127.0.0.1:9788']
YML
systemd-run -q --unit=memqos-prometheus -p User=prometheus -p RuntimeDirectory=memqos-prometheus \
        /usr/bin/prometheus --config.file=/run/memqos-prometheus.yml \
        --storage.tsdb.path=/run/memqos-prometheus --storage.tsdb.retention.time=10m \
        --web.listen-address=127.0.0.1:9090 --log.level=warn
prom_started=$SECONDS

step "two prioritized slices with a process each"
install_dropin api-low.slice 50-memqos.conf <<'CONF'
[X-MemQoS]
MemoryPriority=1
CONF
install_dropin api-high.slice 50-memqos.conf <<'CONF'
[X-MemQoS]
MemoryPriority=10
CONF
systemctl daemon-reload
start_memqosd
systemd-run -q --unit=api-low-sleep --slice=api-low.slice sleep 600
systemd-run -q --unit=api-high-sleep --slice=api-high.slice sleep 600
wait_state api-low.slice MEMORY_PRIORITY 1
wait_state api-high.slice MEMORY_PRIORITY 10
low_pid=$(unit_prop api-low-sleep.service MainPID)

step "busctl introspect: the Manager and a Unit object"
wait_until 10 busctl introspect org.memqos1 /org/memqos1
busctl introspect org.memqos1 /org/memqos1 >/tmp/api-introspect
for member in .ListUnits .GetUnit .KillOrder .Reload .SetProperties .Event; do
        assert_file_contains /tmp/api-introspect "$member"
done
path=$(busctl call org.memqos1 /org/memqos1 org.memqos1.Manager GetUnit s api-high.slice | sed 's/^o "\(.*\)"$/\1/')
assert_match '^/org/memqos1/unit/' "$path" "the object of api-high.slice"
busctl get-property org.memqos1 "$path" org.memqos1.Unit MemoryPriority >/tmp/api-prop
assert_file_contains /tmp/api-prop "u 10"

step "memqosctl list, show and kill-order, as nobody too"
nobody memqosctl list --no-pager --no-legend >/tmp/api-list
assert_match '^api-high\.slice +unit +active +10 ' "$(grep '^api-high.slice ' /tmp/api-list)" "list: api-high.slice"
assert_match '^api-low\.slice +unit +active +1 ' "$(grep '^api-low.slice ' /tmp/api-list)" "list: api-low.slice"
memqosctl list --json=short >/tmp/api-json
assert_eq 1 "$(wc -l </tmp/api-json)" "lines of list --json=short"
assert_jq /tmp/api-json "list --json=short: api-high.slice and api-low.slice" \
        'map(select(.unit == "api-high.slice")) | length == 1 and (.[0] |
                .kind == "unit" and .cgroup == "/api.slice/api-high.slice" and .active == "active" and
                .priority == 10 and .usage_bytes > 0)' \
        'map(select(.unit == "api-low.slice"))[0] | .priority == 1 and .usage_bytes > 0'
assert_eq "$(awk '$1 ~ /^api-/ {print $1}' /tmp/api-list | sort)" \
        "$(jq -r '.[] | select(.cgroup | startswith("/api.slice/")) | .unit' /tmp/api-json | sort)" \
        "the units below api.slice in list --json=short against the table's"
# The check is a parser's: the same output cut before its closing bracket is refused.
head -c -2 /tmp/api-json >/tmp/api-json-cut
rc=0
jq -e true /tmp/api-json-cut >/dev/null 2>&1 || rc=$?
assert_ne 0 "$rc" "jq's exit status on list --json=short cut short"
memqosctl list --json=pretty >/tmp/api-json-pretty
(($(wc -l </tmp/api-json-pretty) > 1)) || fail "list --json=pretty" "expected indented lines" "seen: $(cat /tmp/api-json-pretty)"
jq -cS 'map({unit, priority})' /tmp/api-json /tmp/api-json-pretty >/tmp/api-json-both
assert_eq "$(sed -n 1p /tmp/api-json-both)" "$(sed -n 2p /tmp/api-json-both)" \
        "units and priorities of list --json=short (first) against --json=pretty"
memqosctl show api-high.slice >/tmp/api-show
assert_file_contains /tmp/api-show '^MemoryPriority=10$'
assert_file_contains /tmp/api-show '^ControlGroup=/api.slice/api-high.slice$'
memqosctl show --json=pretty api-high.slice >/tmp/api-show-json
assert_jq /tmp/api-show-json "show --json=pretty api-high.slice" '.MemoryPriority == 10 and .ControlGroup == "/api.slice/api-high.slice" and
        (.Knobs | map(select(.key == "MemoryPriority"))[0].desired == 10)'
nobody memqosctl kill-order --no-pager --no-legend api.slice >/tmp/api-order
assert_match "^1 +/api.slice/api-low.slice/api-low-sleep.service +/api.slice/api-low.slice +1 +$low_pid +sleep " \
        "$(head -n 1 /tmp/api-order)" "kill-order: api-low's sleep first"
# api-high (10) is the highest priority in use: the pre-emptive kill never
# takes it (the kernel's OOM killer decides there, at the limit), so the
# order the kill takes ends with api-low.
assert_eq 1 "$(wc -l </tmp/api-order)" "kill-order's lines (api-low's sleep only: $(cat /tmp/api-order))"
memqosctl kill-order --json=short api.slice >/tmp/api-order-json
assert_jq /tmp/api-order-json "kill-order --json=short api.slice: api-low's sleep only" ".cgroup == \"/api.slice\" and (.leaves[0] |
        .cgroup == \"/api.slice/api-low.slice/api-low-sleep.service\" and .branch == \"/api.slice/api-low.slice\" and
        .branch_priority == 1 and .processes[0].pid == $low_pid and .processes[0].comm == \"sleep\") and
        (.leaves | length) == 1"
assert_ok kill -0 "$low_pid"

step "a write as nobody is refused"
rc=0
nobody memqosctl set api-low.slice MemoryPriority=3 2>/tmp/api-denied || rc=$?
assert_eq 3 "$rc" "exit status of set as nobody"
assert_file_contains /tmp/api-denied "Only root"
[[ ! -e /etc/systemd/system/api-low.slice.d/90-memqos-MemoryPriority.conf ]] || fail "nobody's set wrote a drop-in"

step "set -> daemon-reload -> the policy in force, with the Event signal"
busctl monitor --match "type='signal',sender='org.memqos1',member='Event'" >/tmp/api-monitor 2>&1 &
monitor=$!
sleep 1
assert_ok memqosctl set api-low.slice MemoryPriority=3
assert_file_contains /etc/systemd/system/api-low.slice.d/90-memqos-MemoryPriority.conf '^MemoryPriority=3$'
assert_knob api-low.slice MEMORY_PRIORITY memory.priority 3
wait_until 10 grep -q '"policy-applied"' /tmp/api-monitor
memqosctl events --no-pager >/tmp/api-events
assert_file_contains /tmp/api-events ' policy-applied +api-low.slice: Policy in force: MemoryPriority=3'
memqosctl events --json=short >/tmp/api-events-json
assert_jq /tmp/api-events-json "events --json=short (one object a line)" '[., inputs] | any(.kind == "policy-applied" and .object == "api-low.slice" and
        (.message | contains("MemoryPriority=3")))'
assert_ok memqosctl set --runtime api-low.slice WatermarkRatio=70
assert_file_contains /run/systemd/system/api-low.slice.d/90-memqos-WatermarkRatio.conf '^WatermarkRatio=70$'
wait_state api-low.slice WATERMARK_RATIO 70
rc=0
memqosctl set api-low.slice MemoryPriority=13 2>/tmp/api-bad || rc=$?
assert_eq 2 "$rc" "exit status of a bad value"
assert_file_contains /tmp/api-bad '90-memqos-MemoryPriority.conf:3: '
assert_file_contains /etc/systemd/system/api-low.slice.d/90-memqos-MemoryPriority.conf '^MemoryPriority=3$'
state_is api-low.slice MEMORY_PRIORITY 3 || fail "a refused value changed the policy"

step "metrics through memqos-metrics.socket (an unprivileged scrape)"
# The package makes its user (dh_installsysusers); a meson install leaves it
# to the admin, as README.md says.
id memqos-metrics >/dev/null 2>&1 || systemd-sysusers memqos.conf
id memqos-metrics >/dev/null || fail "no user memqos-metrics"
assert_ok systemctl start memqos-metrics.socket
exec 3<>/dev/tcp/127.0.0.1/9788
printf 'GET /metrics HTTP/1.0\r\n\r\n' >&3
cat <&3 >/tmp/api-metrics
exec 3<&-
assert_file_contains /tmp/api-metrics '^HTTP/1.1 200 OK'
assert_file_contains /tmp/api-metrics '^memqos_priority\{unit="api-high.slice",kind="unit"} 10$'
assert_file_contains /tmp/api-metrics '^memqos_priority\{unit="api-low.slice",kind="unit"} 3$'
assert_file_contains /tmp/api-metrics '^memqos_usage_bytes\{unit="api-low.slice",kind="unit"} [0-9]'

step "Prometheus scraped it: the series through its HTTP API"
wait_until 90 memqos_target_up
wait_until 20 memqos_series_scraped
echo "scraped and in Prometheus $((SECONDS - prom_started)) s after its start"
# memqosd's version and layout as memqosctl metrics printed them above
version=$(sed -n 's/^memqos_build_info{version="\([^"]*\)".*/\1/p' /tmp/api-metrics)
layout=$(sed -n 's/^memqos_backend_info{feature="oom",.*cgroup_layout="\([^"]*\)".*/\1/p' /tmp/api-metrics)
assert_match '^[0-9]' "$version" "memqosd's version in memqos_build_info"
assert_eq "$MEMQOS_VM_LAYOUT" "$layout" "the layout in memqos_backend_info"
assert_jq /tmp/api-prom-series "the series of /api/v1/query (memqosd $version, $layout)" \
        '[.data.result[] | select(.metric.__name__ == "memqos_priority")] |
                (map({(.metric.unit): .value[1]}) | add) == {"api-low.slice": "3", "api-high.slice": "10"} and
                all(.[]; .metric.kind == "unit" and .metric.job == "memqos" and
                        .metric.instance == "127.0.0.1:9788")' \
        '[.data.result[] | select(.metric.__name__ == "memqos_usage_bytes" and .metric.unit == "api-low.slice")] |
                length == 1 and (.[0].value[1] | tonumber) > 0' \
        '[.data.result[] | select(.metric.__name__ == "memqos_kills_total" and .metric.unit == "api-low.slice")] |
                (map({(.metric.reason): .value[1]}) | add) == {"oom": "0", "priority": "0"}' \
        '[.data.result[] | select(.metric.__name__ == "memqos_policy_apply_seconds_count")] |
                length == 1 and (.[0].value[1] | tonumber) >= 1' \
        "[.data.result[] | select(.metric.__name__ == \"memqos_build_info\")] |
                length == 1 and .[0].metric.version == \"$version\" and .[0].value[1] == \"1\"" \
        "[.data.result[] | select(.metric.__name__ == \"memqos_backend_info\")] |
                length == 2 and all(.metric.cgroup_layout == \"$layout\")"
prom_get /api/v1/metadata >/tmp/api-prom-metadata
assert_jq /tmp/api-prom-metadata "the types Prometheus read from # TYPE" \
        '.data | .memqos_kills_total[0].type == "counter" and
                .memqos_policy_apply_seconds[0].type == "histogram" and .memqos_priority[0].type == "gauge"'
assert_ok systemctl stop memqos-prometheus.service
