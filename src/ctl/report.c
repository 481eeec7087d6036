/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ctl/report.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <time.h>

#include "ctl/json.h"
#include "ctl/table.h"

static const char *format_priority(char buf[16], uint32_t p) {
        if (p == UINT32_MAX)
                return "-";
        snprintf(buf, 16, "%" PRIu32, p);
        return buf;
}

int report_units_table(const UnitRow *rows, size_t n, bool legend, FILE *f) {
        static const char *const headers[] = { "UNIT", "KIND", "ACTIVE", ">PRIO", ">USAGE", ">LIMIT", ">WMARK-HIGH",
                                               "BACKEND", "LAST-EVENT" };
        Table t;
        int r = table_init(&t, 9, headers);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                char p[16], u[FORMAT_HUMAN_MAX], l[FORMAT_HUMAN_MAX], h[FORMAT_HUMAN_MAX];
                const UnitRow *x = &rows[i];
                const char *cells[] = {
                        x->name, x->kind, x->active, format_priority(p, x->priority),
                        format_bytes_human(u, x->usage), format_bytes_human(l, x->limit),
                        format_bytes_human(h, x->wmark_high), x->backend,
                        x->last_event && x->last_event[0] ? x->last_event : "-",
                };
                r = table_add_row(&t, cells);
        }
        if (r >= 0) {
                char line[64];
                snprintf(line, sizeof(line), "%zu %s listed.", n, n == 1 ? "unit" : "units");
                r = table_print(&t, legend, line, f);
        }
        table_done(&t);
        return r;
}

void report_units_json(const UnitRow *rows, size_t n, bool pretty, FILE *f) {
        JsonWriter w;
        json_init(&w, f, pretty);
        json_array_begin(&w);
        for (size_t i = 0; i < n; i++) {
                const UnitRow *x = &rows[i];
                json_object_begin(&w);
                json_key(&w, "unit"), json_string(&w, x->name);
                json_key(&w, "kind"), json_string(&w, x->kind);
                json_key(&w, "cgroup"), json_string(&w, x->cgroup);
                json_key(&w, "active"), json_string(&w, x->active);
                json_key(&w, "backend"), json_string(&w, x->backend);
                json_key(&w, "priority");
                if (x->priority == UINT32_MAX)
                        json_null(&w);
                else
                        json_u64(&w, x->priority);
                json_key(&w, "usage_bytes"), json_bytes(&w, x->usage);
                json_key(&w, "limit_bytes"), json_bytes(&w, x->limit);
                json_key(&w, "wmark_high_bytes"), json_bytes(&w, x->wmark_high);
                json_key(&w, "wmark_low_bytes"), json_bytes(&w, x->wmark_low);
                json_key(&w, "reclaimed_bytes"), json_u64(&w, x->reclaimed_bytes);
                json_key(&w, "reclaim_passes"), json_u64(&w, x->reclaim_passes);
                json_key(&w, "priority_kills"), json_u64(&w, x->priority_kills);
                json_key(&w, "oom_kills"), json_u64(&w, x->oom_kills);
                json_key(&w, "threshold_crossings"), json_u64(&w, x->threshold_crossings);
                json_key(&w, "notices_sent"), json_u64(&w, x->notices_sent);
                json_key(&w, "last_event");
                json_string(&w, x->last_event && x->last_event[0] ? x->last_event : NULL);
                json_key(&w, "last_event_usec");
                if (x->last_event_usec)
                        json_u64(&w, x->last_event_usec);
                else
                        json_null(&w);
                json_object_end(&w);
        }
        json_array_end(&w);
        json_finish(&w);
}

void report_label_value(FILE *f, const char *s) {
        for (; s && *s; s++)
                if (*s == '\\')
                        fputs("\\\\", f);
                else if (*s == '"')
                        fputs("\\\"", f);
                else if (*s == '\n')
                        fputs("\\n", f);
                else
                        fputc(*s, f);
}

static void header(FILE *f, const char *name, const char *type, const char *help) {
        fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void unit_labels(FILE *f, const UnitRow *x) {
        fputs("{unit=\"", f);
        report_label_value(f, x->name);
        fputs("\",kind=\"", f);
        report_label_value(f, x->kind);
        fputc('"', f);
}

typedef enum { FIELD_USAGE, FIELD_LIMIT, FIELD_WMARK_HIGH, FIELD_WMARK_LOW, FIELD_PRIORITY, FIELD_RECLAIMED,
               FIELD_PASSES, FIELD_CROSSINGS, FIELD_NOTICES } Field;

static const struct {
        const char *name, *type, *help;
        Field field;
} unit_series[] = {
        { "memqos_usage_bytes", "gauge", "Memory charged to the unit's cgroup (hierarchical).", FIELD_USAGE },
        { "memqos_limit_bytes", "gauge", "The memory limit the watermarks are relative to (absent: none).",
          FIELD_LIMIT },
        { "memqos_wmark_high_bytes", "gauge", "Background reclaim starts above this usage.", FIELD_WMARK_HIGH },
        { "memqos_wmark_low_bytes", "gauge", "Background reclaim stops below this usage.", FIELD_WMARK_LOW },
        { "memqos_priority", "gauge", "MemoryPriority= in force (0..12, higher survives longer).", FIELD_PRIORITY },
        { "memqos_reclaimed_bytes_total", "counter", "Bytes memqosd's own background reclaim took.", FIELD_RECLAIMED },
        { "memqos_reclaim_passes_total", "counter", "Passes of memqosd's own background reclaim.", FIELD_PASSES },
        { "memqos_threshold_crossings_total", "counter", "Crossings of the unit's MemoryThresholds=.",
          FIELD_CROSSINGS },
        { "memqos_notices_total", "counter",
          "Notices sent to the unit's pressure-socket clients (memqos-pressure(7)), one per client told.",
          FIELD_NOTICES },
};

static bool unit_value(const UnitRow *x, Field field, uint64_t *ret) {
        *ret = UINT64_MAX;
        switch (field) {
        case FIELD_USAGE:
                *ret = x->usage;
                break;
        case FIELD_LIMIT:
                *ret = x->limit;
                break;
        case FIELD_WMARK_HIGH:
                *ret = x->wmark_high;
                break;
        case FIELD_WMARK_LOW:
                *ret = x->wmark_low;
                break;
        case FIELD_PRIORITY:
                *ret = x->priority == UINT32_MAX ? UINT64_MAX : x->priority;
                break;
        case FIELD_RECLAIMED:
                *ret = x->reclaimed_bytes;
                break;
        case FIELD_PASSES:
                *ret = x->reclaim_passes;
                break;
        case FIELD_CROSSINGS:
                *ret = x->threshold_crossings;
                break;
        case FIELD_NOTICES:
                *ret = x->notices_sent;
                break;
        }
        return *ret != UINT64_MAX;
}

int report_metrics(const DaemonInfo *d, const UnitRow *rows, size_t n, const char *version_ctl, FILE *f) {
        assert(d);
        assert(rows || n == 0);

        header(f, "memqos_build_info", "gauge", "memqosd's and memqosctl's versions.");
        fputs("memqos_build_info{version=\"", f);
        report_label_value(f, d->version);
        fputs("\",ctl_version=\"", f);
        report_label_value(f, version_ctl);
        fputs("\"} 1\n", f);

        header(f, "memqos_backend_info", "gauge", "How each feature is put in force (kernel, emulated, both, off).");
        const char *features[][2] = { { "reclaim", d->reclaim_backend }, { "oom", d->oom_backend } };
        for (size_t i = 0; i < 2; i++) {
                fprintf(f, "memqos_backend_info{feature=\"%s\",backend=\"", features[i][0]);
                report_label_value(f, features[i][1]);
                fprintf(f, "\",cgroup_layout=\"");
                report_label_value(f, d->layout);
                fputs("\"} 1\n", f);
        }

        header(f, "memqos_units", "gauge", "Units and groups memqosd follows.");
        fprintf(f, "memqos_units %" PRIu32 "\n", d->n_units);

        header(f, "memqos_policy_apply_seconds", "histogram",
               "Time from a unit becoming active to its policy in force.");
        for (size_t i = 0; i < d->n_buckets; i++)
                fprintf(f, "memqos_policy_apply_seconds_bucket{le=\"%g\"} %" PRIu64 "\n", d->bucket_le[i],
                        d->bucket_count[i]);
        fprintf(f, "memqos_policy_apply_seconds_bucket{le=\"+Inf\"} %" PRIu64 "\n", d->latency_count);
        fprintf(f, "memqos_policy_apply_seconds_sum %.6f\n", d->latency_sum);
        fprintf(f, "memqos_policy_apply_seconds_count %" PRIu64 "\n", d->latency_count);

        for (size_t s = 0; s < sizeof(unit_series) / sizeof(unit_series[0]); s++) {
                header(f, unit_series[s].name, unit_series[s].type, unit_series[s].help);
                for (size_t i = 0; i < n; i++) {
                        uint64_t v = UINT64_MAX;
                        if (!unit_value(&rows[i], unit_series[s].field, &v))
                                continue;
                        fputs(unit_series[s].name, f);
                        unit_labels(f, &rows[i]);
                        fprintf(f, "} %" PRIu64 "\n", v);
                }
        }

        header(f, "memqos_kills_total", "counter",
               "Processes killed in the unit: by memqosd's priority kill, or by the kernel's OOM killer.");
        for (size_t i = 0; i < n; i++) {
                fputs("memqos_kills_total", f);
                unit_labels(f, &rows[i]);
                fprintf(f, ",reason=\"priority\"} %" PRIu64 "\n", rows[i].priority_kills);
                fputs("memqos_kills_total", f);
                unit_labels(f, &rows[i]);
                fprintf(f, ",reason=\"oom\"} %" PRIu64 "\n", rows[i].oom_kills);
        }
        return ferror(f) ? -EIO : 0;
}
