/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <ctype.h>
#include <inttypes.h>

#include "basic/util.h"
#include "conf/policy.h"

/* ---- Value parsers ---- */

int policy_parse_bool(const char *s, bool *ret) {
        static const char *const yes[] = { "1", "yes", "y", "true", "t", "on" };
        static const char *const no[] = { "0", "no", "n", "false", "f", "off" };

        for (size_t i = 0; i < ELEMENTSOF(yes); i++)
                if (strcasecmp(s, yes[i]) == 0) {
                        *ret = true;
                        return 0;
                }
        for (size_t i = 0; i < ELEMENTSOF(no); i++)
                if (strcasecmp(s, no[i]) == 0) {
                        *ret = false;
                        return 0;
                }
        return -EINVAL;
}

/* Decimal digits only: strtoul() would take signs, blanks and hex. Leaves *p
 * after the digits. */
static int parse_digits(const char **p, uint64_t *ret) {
        const char *s = *p;
        uint64_t v = 0;

        if (!isdigit((unsigned char) *s))
                return -EINVAL;
        for (; isdigit((unsigned char) *s); s++) {
                unsigned d = *s - '0';
                if (v > (UINT64_MAX - d) / 10)
                        return -ERANGE;
                v = v * 10 + d;
        }
        *p = s;
        *ret = v;
        return 0;
}

int policy_parse_unsigned(const char *s, unsigned min, unsigned max, unsigned *ret) {
        uint64_t v;
        int r;

        r = parse_digits(&s, &v);
        if (r < 0)
                return r;
        if (*s)
                return -EINVAL;
        if (v < min || v > max)
                return -ERANGE;
        *ret = (unsigned) v;
        return 0;
}

int policy_parse_size(const char *s, uint64_t *ret) {
        static const struct {
                char suffix;
                unsigned shift;
        } suffixes[] = { { 'K', 10 }, { 'M', 20 }, { 'G', 30 }, { 'T', 40 } };
        unsigned shift = 0;
        uint64_t v;
        int r;

        r = parse_digits(&s, &v);
        if (r < 0)
                return r;
        if (*s) {
                size_t i;

                for (i = 0; i < ELEMENTSOF(suffixes); i++)
                        if (*s == suffixes[i].suffix)
                                break;
                if (i >= ELEMENTSOF(suffixes) || s[1])
                        return -EINVAL;
                shift = suffixes[i].shift;
        }
        if (v > (UINT64_MAX >> shift))
                return -ERANGE;
        *ret = v << shift;
        return 0;
}

static int threshold_parse(const char *word, Threshold *ret) {
        size_t l = strlen(word);
        uint64_t v;
        int r;

        if (l > 0 && word[l - 1] == '%') {
                const char *s = word;

                /* "080%" is fine, "1e2%", "8 0%" and "%" are not */
                r = parse_digits(&s, &v);
                if (r < 0)
                        return r;
                if (s != word + l - 1)
                        return -EINVAL;
                if (v < 1 || v > 100)
                        return -ERANGE;
                *ret = (Threshold) { .is_percent = true, .value = v };
                return 0;
        }

        r = policy_parse_size(word, &v);
        if (r < 0)
                return r;
        if (v == 0) /* usage never crosses 0 bytes upwards */
                return -ERANGE;
        *ret = (Threshold) { .is_percent = false, .value = v };
        return 0;
}

/* Like policy_parse_thresholds(), but says which word was wrong and tells
 * "too many" (-E2BIG) apart from a bad word (-EINVAL, -ERANGE). */
static int thresholds_parse(const char *s, Threshold *ret, size_t max, size_t *ret_n, char *bad,
                            size_t bad_size) {
        size_t n = 0;
        int r;

        for (;;) {
                char word[64];
                size_t l;

                s += strspn(s, " \t\n\r\v\f");
                if (!*s)
                        break;
                l = strcspn(s, " \t\n\r\v\f");
                if (bad_size > 0)
                        snprintf(bad, bad_size, "%.*s", (int) l, s);
                if (n >= max)
                        return -E2BIG;
                if (l >= sizeof(word))
                        return -EINVAL;
                memcpy(word, s, l);
                word[l] = 0;
                r = threshold_parse(word, &ret[n]);
                if (r < 0)
                        return r;
                n++;
                s += l;
        }

        if (n == 0)
                return -EINVAL;
        *ret_n = n;
        return 0;
}

int policy_parse_thresholds(const char *s, Threshold *ret, size_t max, size_t *ret_n) {
        int r = thresholds_parse(s, ret, max, ret_n, NULL, 0);
        return r == -E2BIG ? -ERANGE : r;
}

int policy_parse_reserve(const char *s, Threshold *ret) {
        Threshold t;
        int r;

        assert(s);
        assert(ret);
        /* One word: a threshold, or the 0 (no reserve) a threshold refuses. */
        if (streq(s, "0") || streq(s, "0%")) {
                *ret = (Threshold) { .is_percent = s[1] == '%', .value = 0 };
                return 0;
        }
        r = threshold_parse(s, &t);
        if (r < 0)
                return r;
        *ret = t;
        return 0;
}

uint64_t policy_reserve_bytes(const Threshold *t, uint64_t parent_limit) {
        assert(t);
        if (!t->is_percent)
                return t->value;
        if (parent_limit == UINT64_MAX || parent_limit > UINT64_MAX / 100)
                return 0; /* a share of no limit is none */
        return parent_limit / 100 * t->value + parent_limit % 100 * t->value / 100;
}

static size_t format_threshold(const Threshold *t, char *buf, size_t size) {
        static const char suffixes[] = "TGMK";
        int k = -1;

        if (t->is_percent)
                k = snprintf(buf, size, "%" PRIu64 "%%", t->value);
        else
                /* the largest suffix that says it exactly: 1G, 1536M, 1000 */
                for (unsigned i = 0; i < 4 && k < 0; i++) {
                        unsigned shift = 40 - 10 * i;
                        if (t->value % (UINT64_C(1) << shift) == 0)
                                k = snprintf(buf, size, "%" PRIu64 "%c", t->value >> shift, suffixes[i]);
                }
        if (k < 0)
                k = snprintf(buf, size, "%" PRIu64, t->value);
        return k < 0 ? 0 : (size_t) k;
}

void policy_format_reserve(const Policy *p, char *buf, size_t size) {
        assert(p);
        assert(buf || size == 0);
        if (size == 0)
                return;
        if (!policy_has(p, POLICY_MEMORY_RESERVE)) {
                buf[0] = 0;
                return;
        }
        if (p->memory_reserve.value == 0)
                snprintf(buf, size, "%s", p->memory_reserve.is_percent ? "0%" : "0");
        else
                (void) format_threshold(&p->memory_reserve, buf, size);
}

Threshold *policy_threshold_list(Policy *p, PolicyKey k, size_t **ret_n) {
        switch (k) {
        case POLICY_MEMORY_THRESHOLDS:
                *ret_n = &p->n_thresholds;
                return p->thresholds;
        case POLICY_NOTICE_THRESHOLDS:
                *ret_n = &p->n_notice_thresholds;
                return p->notice_thresholds;
        default:
                *ret_n = NULL;
                return NULL;
        }
}

void policy_format_thresholds(const Policy *p, char *buf, size_t size) {
        policy_format_threshold_list(p->thresholds, p->n_thresholds, buf, size);
}

void policy_format_threshold_list(const Threshold *t, size_t n, char *buf, size_t size) {
        size_t o = 0;

        if (size == 0)
                return;
        buf[0] = 0;
        for (size_t i = 0; i < n; i++) {
                if (i > 0 && o + 1 < size) {
                        buf[o++] = ' ';
                        buf[o] = 0;
                }
                o += format_threshold(&t[i], buf + o, size - o);
                if (o >= size) /* cut, but NUL-terminated by snprintf() */
                        return;
        }
}

/* ---- Keys ---- */

static const char *const policy_key_names[_POLICY_KEY_MAX] = {
        [POLICY_MEMORY_PRIORITY] = "MemoryPriority",
        [POLICY_USE_PRIORITY_OOM] = "UsePriorityOOM",
        [POLICY_WATERMARK_RATIO] = "WatermarkRatio",
        [POLICY_WATERMARK_SCALE_FACTOR] = "WatermarkScaleFactor",
        [POLICY_MEMORY_THRESHOLDS] = "MemoryThresholds",
        [POLICY_MEMORY_RESERVE] = "MemoryReserve",
        [POLICY_NOTICE_THRESHOLDS] = "NoticeThresholds",
};

DEFINE_STRING_TABLE_TO_STRING(policy_key, PolicyKey, policy_key_names)

PolicyKey policy_key_from_string(const char *s) {
        for (PolicyKey k = 0; k < _POLICY_KEY_MAX; k++)
                if (streq(s, policy_key_names[k])) /* case matters, as in systemd */
                        return k;
        return (PolicyKey) -1;
}

static bool thresholds_equal(const Policy *a, const Policy *b, PolicyKey k) {
        size_t na, nb;
        const Threshold *ta = policy_threshold_list_const(a, k, &na), *tb = policy_threshold_list_const(b, k, &nb);

        if (na != nb)
                return false;
        for (size_t i = 0; i < na; i++)
                if (ta[i].is_percent != tb[i].is_percent || ta[i].value != tb[i].value)
                        return false;
        return true;
}

bool policy_equal(const Policy *a, const Policy *b) {
        if (a->set != b->set)
                return false;
        /* only the keys in force count: an unset key's field is noise */
        if (policy_has(a, POLICY_MEMORY_PRIORITY) && a->memory_priority != b->memory_priority)
                return false;
        if (policy_has(a, POLICY_USE_PRIORITY_OOM) && a->use_priority_oom != b->use_priority_oom)
                return false;
        if (policy_has(a, POLICY_WATERMARK_RATIO) && a->watermark_ratio != b->watermark_ratio)
                return false;
        if (policy_has(a, POLICY_WATERMARK_SCALE_FACTOR) &&
            a->watermark_scale_factor != b->watermark_scale_factor)
                return false;
        if (policy_has(a, POLICY_MEMORY_THRESHOLDS) && !thresholds_equal(a, b, POLICY_MEMORY_THRESHOLDS))
                return false;
        if (policy_has(a, POLICY_NOTICE_THRESHOLDS) && !thresholds_equal(a, b, POLICY_NOTICE_THRESHOLDS))
                return false;
        if (policy_has(a, POLICY_MEMORY_RESERVE) && (a->memory_reserve.is_percent != b->memory_reserve.is_percent ||
                                                     a->memory_reserve.value != b->memory_reserve.value))
                return false;
        return true;
}

void policy_copy_key(Policy *dst, const Policy *src, PolicyKey k) {
        switch (k) {
        case POLICY_MEMORY_PRIORITY:
                dst->memory_priority = src->memory_priority;
                break;
        case POLICY_USE_PRIORITY_OOM:
                dst->use_priority_oom = src->use_priority_oom;
                break;
        case POLICY_WATERMARK_RATIO:
                dst->watermark_ratio = src->watermark_ratio;
                break;
        case POLICY_WATERMARK_SCALE_FACTOR:
                dst->watermark_scale_factor = src->watermark_scale_factor;
                break;
        case POLICY_MEMORY_THRESHOLDS:
        case POLICY_NOTICE_THRESHOLDS: {
                size_t *dn, sn;
                Threshold *dt = policy_threshold_list(dst, k, &dn);
                const Threshold *st = policy_threshold_list_const(src, k, &sn);

                *dn = sn;
                memcpy(dt, st, sn * sizeof(Threshold));
                break;
        }
        case POLICY_MEMORY_RESERVE:
                dst->memory_reserve = src->memory_reserve;
                break;
        default:
                return;
        }
        dst->set = (dst->set & ~POLICY_KEY_BIT(k)) | (src->set & POLICY_KEY_BIT(k));
        dst->source[k] = src->source[k];
}

/* ---- [X-MemQoS] ---- */

typedef struct PolicyParser {
        Policy policy;
        const char *file;
        unsigned file_index; /* of file in the list parsed, for Policy.source */
        Diagnostics *diags;
} PolicyParser;

static int policy_assign_thresholds(PolicyParser *pp, PolicyKey k, const char *key, const char *value,
                                    unsigned line) {
        Threshold t[POLICY_THRESHOLDS_MAX];
        char bad[64], shown[ESCAPE_VALUE_SHORT_BUF_SIZE], shown_bad[ESCAPE_VALUE_SHORT_BUF_SIZE];
        Threshold all[POLICY_THRESHOLDS_MAX];
        Policy *p = &pp->policy;
        size_t n = 0, merged, *list_n;
        Threshold *list = policy_threshold_list(p, k, &list_n);
        int r;

        escape_value_short(value, shown, sizeof(shown));
        r = thresholds_parse(value, t, ELEMENTSOF(t), &n, bad, sizeof(bad));
        escape_value_short(bad, shown_bad, sizeof(shown_bad));
        if (r == -E2BIG)
                return diagnostics_add(pp->diags, pp->file, line, key,
                                              "%s=%s lists more than %d thresholds, ignoring", key, shown,
                                              POLICY_THRESHOLDS_MAX) ?: -EINVAL;
        if (r == -ERANGE)
                return diagnostics_add(pp->diags, pp->file, line, key,
                                              "%s=%s: '%s' is out of range (1%%..100%% of the limit, or a size above 0), ignoring",
                                              key, shown, shown_bad) ?: -EINVAL;
        if (r < 0)
                return diagnostics_add(pp->diags, pp->file, line, key,
                                              "%s=%s: '%s' is neither a percentage like 80%% nor a size like 512M or 1G, ignoring",
                                              key, shown, shown_bad) ?: -EINVAL;

        /* A list setting, as in systemd: assignments add to the list, an
         * empty one clears it. Repeating a threshold adds nothing. */
        merged = policy_has(p, k) ? *list_n : 0;
        memcpy(all, list, merged * sizeof(Threshold));
        for (size_t i = 0; i < n; i++) {
                bool dup = false;
                for (size_t j = 0; j < merged && !dup; j++)
                        dup = all[j].is_percent == t[i].is_percent && all[j].value == t[i].value;
                if (dup)
                        continue;
                if (merged >= POLICY_THRESHOLDS_MAX)
                        return diagnostics_add(pp->diags, pp->file, line, key,
                                                      "%s=%s would make more than %d thresholds for the unit, ignoring",
                                                      key, shown, POLICY_THRESHOLDS_MAX) ?: -EINVAL;
                all[merged++] = t[i];
        }

        memcpy(list, all, merged * sizeof(Threshold));
        *list_n = merged;
        return 0;
}

static int policy_assign_unsigned(PolicyParser *pp, const char *key, const char *value, unsigned line,
                                  unsigned min, unsigned max, unsigned *field) {
        char shown[ESCAPE_VALUE_SHORT_BUF_SIZE];
        int r;

        r = policy_parse_unsigned(value, min, max, field);
        if (r == 0)
                return 0;
        escape_value_short(value, shown, sizeof(shown));
        return diagnostics_add(pp->diags, pp->file, line, key,
                                      r == -ERANGE ? "%s=%s is out of range %u..%u, ignoring"
                                                   : "%s=%s is not a whole number in the range %u..%u, ignoring",
                                      key, shown, min, max) ?: -EINVAL;
}

/* "KEY=VALUE is not WHAT, ignoring": -EINVAL, or -ENOMEM. */
static int policy_refuse(PolicyParser *pp, const char *key, const char *value, unsigned line, const char *what) {
        char shown[ESCAPE_VALUE_SHORT_BUF_SIZE];

        escape_value_short(value, shown, sizeof(shown));
        return diagnostics_add(pp->diags, pp->file, line, key, "%s=%s is not %s, ignoring", key, shown, what) ?: -EINVAL;
}

/* Returns 0 when assigned, -EINVAL when the value was invalid (diagnosed),
 * -ENOMEM. */
static int policy_assign(PolicyParser *pp, PolicyKey k, const char *key, const char *value, unsigned line) {
        Policy *p = &pp->policy;

        switch (k) {
        case POLICY_MEMORY_PRIORITY:
                return policy_assign_unsigned(pp, key, value, line, 0, POLICY_PRIORITY_MAX, &p->memory_priority);
        case POLICY_WATERMARK_RATIO:
                return policy_assign_unsigned(pp, key, value, line, 0, POLICY_WATERMARK_RATIO_MAX,
                                              &p->watermark_ratio);
        case POLICY_WATERMARK_SCALE_FACTOR:
                return policy_assign_unsigned(pp, key, value, line, POLICY_WATERMARK_SCALE_FACTOR_MIN,
                                              POLICY_WATERMARK_SCALE_FACTOR_MAX, &p->watermark_scale_factor);
        case POLICY_USE_PRIORITY_OOM:
                if (policy_parse_bool(value, &p->use_priority_oom) == 0)
                        return 0;
                return policy_refuse(pp, key, value, line, "a boolean (yes/no, true/false, on/off, 1/0)");
        case POLICY_MEMORY_THRESHOLDS:
        case POLICY_NOTICE_THRESHOLDS:
                return policy_assign_thresholds(pp, k, key, value, line);
        case POLICY_MEMORY_RESERVE:
                if (policy_parse_reserve(value, &p->memory_reserve) == 0)
                        return 0;
                return policy_refuse(pp, key, value, line, "a size (bytes, K, M, G, T) or a percentage 0%..100%");
        default: /* policy_assignment() only passes known keys */
                return -EINVAL;
        }
}

static int policy_assignment(const char *section, const char *key, const char *value, unsigned line,
                             void *userdata) {
        PolicyParser *pp = userdata;
        Policy *p = &pp->policy;
        PolicyKey k;
        int r;

        if (!streq(section, POLICY_SECTION))
                return 0;

        k = policy_key_from_string(key);
        if ((int) k < 0) {
                char shown[ESCAPE_VALUE_SHORT_BUF_SIZE];
                return diagnostics_add(pp->diags, pp->file, line, key,
                                              "Unknown key %s= in [" POLICY_SECTION "], ignoring",
                                              escape_value_short(key, shown, sizeof(shown)));
        }

        if (!*value) {
                /* "Key=" resets, as in systemd */
                p->set &= ~POLICY_KEY_BIT(k);
                if (policy_key_is_thresholds(k)) {
                        size_t *n;
                        (void) policy_threshold_list(p, k, &n);
                        *n = 0;
                }
                p->source[k] = (PolicySource) {};
                return 0;
        }

        /* An invalid assignment is ignored, as systemd ignores one: the key
         * keeps what the assignments before it in file order said, so that
         * the same files always give the same policy. */
        r = policy_assign(pp, k, key, value, line);
        if (r == -EINVAL)
                return 0;
        if (r < 0)
                return r;
        p->set |= POLICY_KEY_BIT(k);
        p->source[k] = (PolicySource) { .file = pp->file_index, .line = line };
        return 0;
}

int policy_parse_texts(const char *const *texts, const size_t *sizes, const char *const *names, size_t n,
                       Policy *ret, Diagnostics *diags) {
        PolicyParser pp = { .diags = diags };
        int r;

        for (size_t i = 0; i < n; i++) {
                pp.file = names[i];
                pp.file_index = (unsigned) i;
                r = ini_parse_text(texts[i], sizes[i], names[i], POLICY_SECTION, policy_assignment, &pp,
                                     diags);
                if (r < 0)
                        return r;
        }

        *ret = pp.policy;
        return 0;
}

typedef struct FileTexts {
        char **texts;
        size_t *sizes;
        size_t n;
} FileTexts;

static void file_texts_done(FileTexts *t) {
        for (size_t i = 0; t->texts && i < t->n; i++)
                free(t->texts[i]);
        free(t->texts);
        free(t->sizes);
}

int policy_parse_files(char *const *paths, size_t n, const Policy *previous, Policy *ret,
                       Diagnostics *diags) {
        _cleanup_(file_texts_done) FileTexts t = { .n = n };
        bool unreadable = false;
        int r;

        t.texts = calloc(n ?: 1, sizeof(char *));
        t.sizes = calloc(n ?: 1, sizeof(size_t));
        if (!t.texts || !t.sizes)
                return -ENOMEM;

        /* All files first: one that cannot be read leaves the whole policy
         * as it was, rather than a policy made of the files that could. */
        for (size_t i = 0; i < n; i++) {
                r = read_file_full(paths[i], &t.texts[i], &t.sizes[i]);
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        unreadable = true;
                        r = diagnostics_add(diags, paths[i], 0, NULL,
                                                   "Cannot read file: %s; keeping the unit's last valid policy",
                                                   r == -EFBIG    ? "larger than 1 MiB"
                                                   : r == -EBADFD ? "not a regular file"
                                                                  : strerror(-r));
                        if (r < 0)
                                return r;
                }
        }
        if (unreadable) {
                *ret = previous ? *previous : (Policy) {};
                return 0;
        }

        return policy_parse_texts((const char *const *) t.texts, t.sizes, (const char *const *) paths, n,
                                  ret, diags);
}

static int source_compare(const void *a, const void *b) {
        const PolicySource *x = a, *y = b;
        if (x->file != y->file)
                return x->file < y->file ? -1 : 1;
        return x->line < y->line ? -1 : x->line > y->line;
}

int policy_sources(const Policy *p, unsigned keys, char *const *names, size_t n, char ***ret) {
        PolicySource found[_POLICY_KEY_MAX];
        size_t n_found = 0, k = 0;
        char **l;

        assert(p);
        assert(ret);
        for (PolicyKey key = 0; key < _POLICY_KEY_MAX; key++)
                if ((keys & POLICY_KEY_BIT(key)) && policy_has(p, key) && p->source[key].line > 0 &&
                    p->source[key].file < n)
                        found[n_found++] = p->source[key];
        qsort(found, n_found, sizeof(found[0]), source_compare);

        l = calloc(n_found + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < n_found; i++) {
                if (i > 0 && source_compare(&found[i], &found[i - 1]) == 0)
                        continue; /* two keys on one line: said once */
                if (asprintf(&l[k], "%s:%u", names[found[i].file], found[i].line) < 0) {
                        l[k] = NULL;
                        strv_free(l);
                        return -ENOMEM;
                }
                k++;
        }
        *ret = l;
        return 0;
}
