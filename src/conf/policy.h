/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The [X-MemQoS] section of a unit's files, parsed into a Policy.
 *
 * Pure: the only I/O is reading the files it is given. Problems are not
 * logged here but returned as Diagnostic records (file, line, key,
 * message), so that the caller logs them with the unit attached and tests
 * can assert on them. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "basic/ini-file.h"

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
        POLICY_MEMORY_RESERVE,
        POLICY_NOTICE_THRESHOLDS, /* notices to the unit's clients on the pressure socket */
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
        /* MemoryReserve=: room kept below the parent's wmark_high for this
         * unit's bursts (bytes, or percent of the parent's limit). Lower
         * priorities among its siblings are bounded to leave it, before
         * the unit has ever used it (the standing bounds, memqos.policy(5)). */
        Threshold memory_reserve;
        size_t n_notice_thresholds;
        Threshold notice_thresholds[POLICY_THRESHOLDS_MAX];
        PolicySource source[_POLICY_KEY_MAX]; /* not part of the value: policy_equal() ignores it */
} Policy;

static inline bool policy_has(const Policy *p, PolicyKey k) {
        return p->set & POLICY_KEY_BIT(k);
}

/* True when the two policies put the same values in force. */
bool policy_equal(const Policy *a, const Policy *b);

/* Copies key k from src into dst: its value, and whether it is set. */
void policy_copy_key(Policy *dst, const Policy *src, PolicyKey k);


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
                       Diagnostics *diags);

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
int policy_parse_reserve(const char *s, Threshold *ret); /* "512M", "0", "25%" (0..100) */

/* MemoryReserve= in bytes for a parent limit: a percentage of an unlimited
 * parent is none (0). */
uint64_t policy_reserve_bytes(const Threshold *t, uint64_t parent_limit);

/* MemoryThresholds= "80% 95% 1G" back to text; buf of at least 32 * POLICY_THRESHOLDS_MAX. */
void policy_format_thresholds(const Policy *p, char *buf, size_t size);
/* MemoryReserve= back to text ("" when unset); buf of at least 32. */
void policy_format_reserve(const Policy *p, char *buf, size_t size);
/* The same for any list of thresholds. */
void policy_format_threshold_list(const Threshold *t, size_t n, char *buf, size_t size);

/* True for the keys whose value is a list of thresholds (MemoryThresholds=,
 * NoticeThresholds=). */
static inline bool policy_key_is_thresholds(PolicyKey k) {
        return k == POLICY_MEMORY_THRESHOLDS || k == POLICY_NOTICE_THRESHOLDS;
}
/* The list of such a key in p, and its length (NULL for other keys). */
Threshold *policy_threshold_list(Policy *p, PolicyKey k, size_t **ret_n);
static inline const Threshold *policy_threshold_list_const(const Policy *p, PolicyKey k, size_t *ret_n) {
        size_t *n;
        const Threshold *t = policy_threshold_list((Policy *) p, k, &n);
        *ret_n = t ? *n : 0;
        return t;
}

/* The same as policy_parse_files() on files already read into memory:
 * texts[i] (sizes[i] bytes, need not be NUL-terminated) under the name
 * names[i]. Does no I/O; the fuzzer drives it directly. */
int policy_parse_texts(const char *const *texts, const size_t *sizes, const char *const *names, size_t n,
                       Policy *ret, Diagnostics *diags);
