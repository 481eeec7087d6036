/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The [X-MemQoS] section of a unit's files, parsed into a Policy.
 *
 * Pure: the only I/O is reading the files it is given. Problems are not
 * logged here but returned as PolicyDiagnostic records (file, line, key,
 * message), so that the caller logs them with the unit attached and tests
 * can assert on them. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define POLICY_SECTION "X-MemQoS"
#define POLICY_THRESHOLDS_MAX 16

#define POLICY_PRIORITY_MAX 12
#define POLICY_WATERMARK_RATIO_MAX 100
#define POLICY_WATERMARK_SCALE_FACTOR_MIN 1
#define POLICY_WATERMARK_SCALE_FACTOR_MAX 1000

typedef enum PolicyKey {
        POLICY_MEMORY_PRIORITY,
        POLICY_USE_PRIORITY_OOM,
        POLICY_WATERMARK_RATIO,
        POLICY_WATERMARK_SCALE_FACTOR,
        POLICY_MEMORY_THRESHOLDS,
        _POLICY_KEY_MAX,
} PolicyKey;

#define POLICY_KEY_BIT(k) (1u << (k))

/* "MemoryPriority", ... */
const char *policy_key_to_string(PolicyKey k);
PolicyKey policy_key_from_string(const char *s); /* -1 if unknown */

typedef struct Threshold {
        bool is_percent;
        uint64_t value; /* percent of the effective limit (1..100), or bytes */
} Threshold;

/* Where a key's value was assigned: the file's index in the list the policy
 * was parsed from, and its line (0: not from a file). */
typedef struct PolicySource {
        unsigned file, line;
} PolicySource;

typedef struct Policy {
        unsigned set; /* POLICY_KEY_BIT()s of the keys that carry a value */
        unsigned memory_priority;
        bool use_priority_oom;
        unsigned watermark_ratio;
        unsigned watermark_scale_factor;
        size_t n_thresholds;
        Threshold thresholds[POLICY_THRESHOLDS_MAX];
        PolicySource source[_POLICY_KEY_MAX]; /* not part of the value: policy_equal() ignores it */
} Policy;

static inline bool policy_has(const Policy *p, PolicyKey k) {
        return p->set & POLICY_KEY_BIT(k);
}

/* True when the two policies put the same values in force. */
bool policy_equal(const Policy *a, const Policy *b);

/* Copies key k from src into dst: its value, and whether it is set. */
void policy_copy_key(Policy *dst, const Policy *src, PolicyKey k);

typedef struct PolicyDiagnostic {
        char *file;
        unsigned line; /* 0: the whole file (e.g. unreadable) */
        char *key;     /* NULL when not about one key */
        char *message; /* human readable, no trailing period */
} PolicyDiagnostic;

typedef struct PolicyDiagnostics {
        PolicyDiagnostic *items;
        size_t n;
        size_t allocated; /* room in items, for policy_diagnostics_add() */
} PolicyDiagnostics;

void policy_diagnostics_done(PolicyDiagnostics *d);

/* Parses [X-MemQoS] from paths[0..n) in order; a later assignment overrides
 * an earlier one. Other sections are skipped.
 *
 * previous: the policy in force so far for this unit (may be NULL).
 * - A key with an invalid value: a diagnostic; the assignment is ignored, as
 *   systemd ignores one: the key has what the assignments before it in file
 *   order gave it, or stays unset. The files alone decide, never `previous`.
 * - An unknown key in the section: a diagnostic, ignored.
 * - A file that cannot be opened or read: a diagnostic, and *ret is a copy of
 *   `previous` (or empty): the unit keeps its last valid policy whole.
 *   Returns 0 in that case too; the caller sees the diagnostic.
 * Returns 0, or -ENOMEM. */
int policy_parse_files(char *const *paths, size_t n, const Policy *previous, Policy *ret,
                       PolicyDiagnostics *diags);

/* The "file:line" of each key in keys (POLICY_KEY_BIT()s) that p sets from
 * a file, names[] being the files p was parsed from: one string per line,
 * in file order, then line order. For the state file's SOURCES=. 0 or
 * -ENOMEM; *ret is NULL-terminated (empty when none). */
int policy_sources(const Policy *p, unsigned keys, char *const *names, size_t n, char ***ret);

/* Value parsers, exported for memqos.conf and tests. 0 or -EINVAL/-ERANGE. */
int policy_parse_bool(const char *s, bool *ret); /* systemd's: 1/yes/y/true/t/on and 0/no/n/false/f/off */
int policy_parse_unsigned(const char *s, unsigned min, unsigned max, unsigned *ret);
int policy_parse_size(const char *s, uint64_t *ret); /* "1G", "512M", "4096", K/M/G/T base 1024 */
int policy_parse_thresholds(const char *s, Threshold *ret, size_t max, size_t *ret_n);

/* "80% 95% 1G" back to text; buf of at least 32 * POLICY_THRESHOLDS_MAX. */
void policy_format_thresholds(const Policy *p, char *buf, size_t size);

/* The same as policy_parse_files() on files already read into memory:
 * texts[i] (sizes[i] bytes, need not be NUL-terminated) under the name
 * names[i]. Does no I/O; the fuzzer drives it directly. */
int policy_parse_texts(const char *const *texts, const size_t *sizes, const char *const *names, size_t n,
                       Policy *ret, PolicyDiagnostics *diags);

/* --- Shared with config.c: reading INI files the way memqos reads them ---
 *
 * Lines up to POLICY_LINE_MAX characters; a line ending in a backslash
 * continues on the next one (as in systemd); comments start with '#' or ';'
 * at the start of a line, or after whitespace inside a value; no
 * indentation-continued values. Malformed and overlong lines become
 * diagnostics with their line number and are skipped. */

#define POLICY_LINE_MAX 4096
#define POLICY_FILE_SIZE_MAX (1024u * 1024u)

/* Appends one diagnostic; the message is formatted. 0 or -ENOMEM. */
int policy_diagnostics_add(PolicyDiagnostics *d, const char *file, unsigned line, const char *key,
                           const char *format, ...) __attribute__((format(printf, 5, 6)));

/* Called for each Key=value assignment: section ("" before the first header),
 * key and value with surrounding whitespace and inline comments stripped,
 * and the line the assignment starts on. Returns 0 or a negative errno,
 * which stops nothing but is returned by policy_ini_parse() at the end. */
typedef int (*PolicyIniAssignment)(const char *section, const char *key, const char *value, unsigned line,
                                   void *userdata);

/* Called for each well-formed [Section] header, with the whole name and the
 * line the header starts on, before the assignments below it. A broken
 * header (also one longer than POLICY_LINE_MAX) is not a section: it is
 * diagnosed, and the lines up to the next good header belong to none and
 * reach neither callback. Returns 0 or a negative errno, as above. */
typedef int (*PolicyIniSection)(const char *section, unsigned line, void *userdata);

/* Parses text (size bytes) named file. Malformed lines produce diagnostics
 * only inside `section` (NULL: everywhere), because the other sections of a
 * unit file are systemd's to complain about. 0, or the first negative errno
 * of the callback, or -ENOMEM. */
int policy_ini_parse(const char *text, size_t size, const char *file, const char *section,
                     PolicyIniAssignment assignment, void *userdata, PolicyDiagnostics *diags);

/* The same, with a callback for each section header too (may be NULL). */
int policy_ini_parse_sections(const char *text, size_t size, const char *file, const char *section,
                              PolicyIniSection on_section, PolicyIniAssignment assignment, void *userdata,
                              PolicyDiagnostics *diags);

/* Reads a whole regular file (or character device, for /dev/null) of at
 * most POLICY_FILE_SIZE_MAX bytes. 0 or a negative errno: -EFBIG when
 * larger, -EISDIR for a directory, -EBADFD for a FIFO or socket, or what
 * open() and read() said. */
int policy_read_file(const char *path, char **ret, size_t *ret_size);

/* The drop-ins of dir (memqos.conf.d): every "*.conf" not starting with "."
 * that is not a directory (a symlink to /dev/null masks one, as in systemd),
 * as paths sorted by name (strcmp()), NULL-terminated. A missing or NULL dir
 * has none. 0, -ENOMEM, or the negative errno of opendir(). */
int policy_list_dropins(const char *dir, char ***ret, size_t *ret_n);

/* Writes s into buf (size > 0) for quoting in a message: at most 64
 * characters, control characters and non-ASCII as \xNN, "..." when cut. */
const char *policy_escape_value(const char *s, char *buf, size_t size);
#define POLICY_ESCAPE_BUF_SIZE (64 * 4 + 4)
