/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A small JSON writer for memqosctl's --json=pretty|short. Pure: it writes
 * to the FILE it is given and keeps only its nesting. Strings are escaped
 * as RFC 8259 says (control characters as \uXXXX); numbers above 2^53 are
 * written as they are (jq and python read them exactly). */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_DEPTH_MAX 32

typedef struct JsonWriter {
        FILE *f;
        bool pretty;
        unsigned depth;
        bool first[JSON_DEPTH_MAX]; /* no member yet at this depth */
        bool after_key;             /* a key was written: the value follows on its line */
} JsonWriter;

void json_init(JsonWriter *w, FILE *f, bool pretty);
void json_object_begin(JsonWriter *w);
void json_object_end(JsonWriter *w);
void json_array_begin(JsonWriter *w);
void json_array_end(JsonWriter *w);
/* A member's key; its value is the next thing written. */
void json_key(JsonWriter *w, const char *key);
void json_string(JsonWriter *w, const char *s); /* NULL: null */
void json_u64(JsonWriter *w, uint64_t v);
void json_i64(JsonWriter *w, int64_t v);
void json_bool(JsonWriter *w, bool v);
void json_null(JsonWriter *w);
/* A byte count: a number, or null for UINT64_MAX (none, unlimited). */
void json_bytes(JsonWriter *w, uint64_t v);
/* Ends the document with a newline. */
void json_finish(JsonWriter *w);
