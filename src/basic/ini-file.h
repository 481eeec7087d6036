/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Reading INI files the way memqos reads them: unit files ([X-MemQoS]),
 * memqos.conf and its drop-ins, the rules files and the squeeze records.
 * Problems are not logged here but returned as Diagnostic records (file,
 * line, key, message), so that the caller logs them with what it is about
 * and tests can assert on them. */

#include <stdbool.h>
#include <stddef.h>

typedef struct Diagnostic {
        char *file;
        unsigned line; /* 0: the whole file (e.g. unreadable) */
        char *key;     /* NULL when not about one key */
        char *message; /* human readable, no trailing period */
} Diagnostic;

typedef struct Diagnostics {
        Diagnostic *items;
        size_t n;
        size_t allocated; /* room in items, for diagnostics_add() */
} Diagnostics;

void diagnostics_done(Diagnostics *d);

/* Lines up to INI_LINE_MAX characters; a line ending in a backslash
 * continues on the next one (as in systemd); comments start with '#' or ';'
 * at the start of a line, or after whitespace inside a value; no
 * indentation-continued values. Malformed and overlong lines become
 * diagnostics with their line number and are skipped. */

#define INI_LINE_MAX 4096
#define READ_FILE_SIZE_MAX (1024u * 1024u)

/* Appends one diagnostic; the message is formatted. 0 or -ENOMEM. */
int diagnostics_add(Diagnostics *d, const char *file, unsigned line, const char *key,
                           const char *format, ...) __attribute__((format(printf, 5, 6)));

/* Called for each Key=value assignment: section ("" before the first header),
 * key and value with surrounding whitespace and inline comments stripped,
 * and the line the assignment starts on. Returns 0 or a negative errno,
 * which stops nothing but is returned by ini_parse_text() at the end. */
typedef int (*IniAssignment)(const char *section, const char *key, const char *value, unsigned line,
                                   void *userdata);

/* Called for each well-formed [Section] header, with the whole name and the
 * line the header starts on, before the assignments below it. A broken
 * header (also one longer than INI_LINE_MAX) is not a section: it is
 * diagnosed, and the lines up to the next good header belong to none and
 * reach neither callback. Returns 0 or a negative errno, as above. */
typedef int (*IniSection)(const char *section, unsigned line, void *userdata);

/* Parses text (size bytes) named file. Malformed lines produce diagnostics
 * only inside `section` (NULL: everywhere), because the other sections of a
 * unit file are systemd's to complain about. 0, or the first negative errno
 * of the callback, or -ENOMEM. */
int ini_parse_text(const char *text, size_t size, const char *file, const char *section,
                     IniAssignment assignment, void *userdata, Diagnostics *diags);

/* The same, with a callback for each section header too (may be NULL). */
int ini_parse_sections(const char *text, size_t size, const char *file, const char *section,
                              IniSection on_section, IniAssignment assignment, void *userdata,
                              Diagnostics *diags);

/* Reads a whole regular file (or character device, for /dev/null) of at
 * most READ_FILE_SIZE_MAX bytes. 0 or a negative errno: -EFBIG when
 * larger, -EISDIR for a directory, -EBADFD for a FIFO or socket, or what
 * open() and read() said. */
int read_file_full(const char *path, char **ret, size_t *ret_size);

/* The drop-ins of dir (memqos.conf.d): every "*.conf" not starting with "."
 * that is not a directory (a symlink to /dev/null masks one, as in systemd),
 * as paths sorted by name (strcmp()), NULL-terminated. A missing or NULL dir
 * has none. 0, -ENOMEM, or the negative errno of opendir(). */
int dropins_list(const char *dir, char ***ret, size_t *ret_n);

/* Writes s into buf (size > 0) for quoting in a message: at most 64
 * characters, control characters and non-ASCII as \xNN, "..." when cut. */
const char *escape_value_short(const char *s, char *buf, size_t size);
#define ESCAPE_VALUE_SHORT_BUF_SIZE (64 * 4 + 4)
