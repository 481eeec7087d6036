/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ctl/json.h"

#include <assert.h>
#include <inttypes.h>

void json_init(JsonWriter *w, FILE *f, bool pretty) {
        assert(w);
        assert(f);
        *w = (JsonWriter) { .f = f, .pretty = pretty };
}

static void indent(JsonWriter *w) {
        if (!w->pretty)
                return;
        fputc('\n', w->f);
        for (unsigned i = 0; i < w->depth; i++)
                fputs("  ", w->f);
}

/* Before any value: the comma and line of an array element (a member's
 * comma came with its key). */
static void before_value(JsonWriter *w) {
        if (w->after_key) {
                w->after_key = false;
                return;
        }
        if (w->depth == 0)
                return;
        if (!w->first[w->depth])
                fputc(',', w->f);
        w->first[w->depth] = false;
        indent(w);
}

static void open_container(JsonWriter *w, char c) {
        before_value(w);
        fputc(c, w->f);
        if (w->depth + 1 < JSON_DEPTH_MAX)
                w->depth++;
        w->first[w->depth] = true;
}

static void close_container(JsonWriter *w, char c) {
        bool empty = w->first[w->depth];
        if (w->depth > 0)
                w->depth--;
        if (!empty)
                indent(w);
        fputc(c, w->f);
}

void json_object_begin(JsonWriter *w) {
        open_container(w, '{');
}

void json_object_end(JsonWriter *w) {
        close_container(w, '}');
}

void json_array_begin(JsonWriter *w) {
        open_container(w, '[');
}

void json_array_end(JsonWriter *w) {
        close_container(w, ']');
}

static void write_string(FILE *f, const char *s) {
        fputc('"', f);
        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                switch (*p) {
                case '"':
                        fputs("\\\"", f);
                        break;
                case '\\':
                        fputs("\\\\", f);
                        break;
                case '\n':
                        fputs("\\n", f);
                        break;
                case '\t':
                        fputs("\\t", f);
                        break;
                case '\r':
                        fputs("\\r", f);
                        break;
                default:
                        if (*p < 0x20 || *p == 0x7f)
                                fprintf(f, "\\u%04x", *p);
                        else
                                fputc(*p, f);
                }
        fputc('"', f);
}

void json_key(JsonWriter *w, const char *key) {
        assert(key);
        before_value(w);
        write_string(w->f, key);
        fputs(w->pretty ? ": " : ":", w->f);
        w->after_key = true;
}

void json_string(JsonWriter *w, const char *s) {
        if (!s)
                return json_null(w);
        before_value(w);
        write_string(w->f, s);
}

void json_u64(JsonWriter *w, uint64_t v) {
        before_value(w);
        fprintf(w->f, "%" PRIu64, v);
}

void json_i64(JsonWriter *w, int64_t v) {
        before_value(w);
        fprintf(w->f, "%" PRIi64, v);
}

void json_bool(JsonWriter *w, bool v) {
        before_value(w);
        fputs(v ? "true" : "false", w->f);
}

void json_null(JsonWriter *w) {
        before_value(w);
        fputs("null", w->f);
}

void json_bytes(JsonWriter *w, uint64_t v) {
        if (v == UINT64_MAX)
                json_null(w);
        else
                json_u64(w, v);
}

void json_finish(JsonWriter *w) {
        fputc('\n', w->f);
}
