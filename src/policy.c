/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <sys/stat.h>

#include <ini.h>

#include "policy.h"
#include "util.h"

/* ---- Diagnostics ---- */

void policy_diagnostics_done(PolicyDiagnostics *d) {
        if (!d)
                return;
        for (size_t i = 0; i < d->n; i++) {
                free(d->items[i].file);
                free(d->items[i].key);
                free(d->items[i].message);
        }
        free(d->items);
        *d = (PolicyDiagnostics) {};
}

int policy_diagnostics_add(PolicyDiagnostics *d, const char *file, unsigned line, const char *key,
                           const char *format, ...) {
        PolicyDiagnostic *items, n = { .line = line };
        va_list ap;
        int r;

        if (!d) /* the caller does not want to hear about it */
                return 0;

        va_start(ap, format);
        r = vasprintf(&n.message, format, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;

        n.file = file ? strdup(file) : NULL;
        n.key = key ? strdup(key) : NULL;
        if (d->n >= d->allocated) {
                /* doubling: a file of garbage makes a diagnostic per line */
                size_t a = d->n < 8 ? 16 : d->n * 2;

                items = reallocarray(d->items, a, sizeof(PolicyDiagnostic));
                if (items) {
                        d->items = items;
                        d->allocated = a;
                }
        }
        if ((file && !n.file) || (key && !n.key) || d->n >= d->allocated) {
                free(n.file);
                free(n.key);
                free(n.message);
                return -ENOMEM;
        }

        d->items[d->n++] = n;
        return 0;
}

const char *policy_escape_value(const char *s, char *buf, size_t size) {
        static const char hex[] = "0123456789abcdef";
        const size_t shown_max = 64;
        size_t o = 0, i;

        /* Values end up in the journal and on terminals: keep them short and
         * free of escape sequences. */
        for (i = 0; s[i] && i < shown_max; i++) {
                unsigned char c = s[i];

                if (c >= 0x20 && c < 0x7f) {
                        if (o + 1 >= size)
                                break;
                        buf[o++] = c;
                } else {
                        if (o + 4 >= size)
                                break;
                        buf[o++] = '\\';
                        buf[o++] = 'x';
                        buf[o++] = hex[c >> 4];
                        buf[o++] = hex[c & 15];
                }
        }
        if (s[i] && size - o > 3)
                memcpy(buf + o, "...", 4);
        else
                buf[o] = 0;
        return buf;
}

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

void policy_format_thresholds(const Policy *p, char *buf, size_t size) {
        size_t o = 0;

        if (size == 0)
                return;
        buf[0] = 0;
        for (size_t i = 0; i < p->n_thresholds; i++) {
                if (i > 0 && o + 1 < size) {
                        buf[o++] = ' ';
                        buf[o] = 0;
                }
                o += format_threshold(&p->thresholds[i], buf + o, size - o);
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
};

DEFINE_STRING_TABLE_TO_STRING(policy_key, PolicyKey, policy_key_names)

PolicyKey policy_key_from_string(const char *s) {
        for (PolicyKey k = 0; k < _POLICY_KEY_MAX; k++)
                if (streq(s, policy_key_names[k])) /* case matters, as in systemd */
                        return k;
        return (PolicyKey) -1;
}

static bool thresholds_equal(const Policy *a, const Policy *b) {
        if (a->n_thresholds != b->n_thresholds)
                return false;
        for (size_t i = 0; i < a->n_thresholds; i++)
                if (a->thresholds[i].is_percent != b->thresholds[i].is_percent ||
                    a->thresholds[i].value != b->thresholds[i].value)
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
        if (policy_has(a, POLICY_MEMORY_THRESHOLDS) && !thresholds_equal(a, b))
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
                dst->n_thresholds = src->n_thresholds;
                memcpy(dst->thresholds, src->thresholds, sizeof(dst->thresholds));
                break;
        default:
                return;
        }
        dst->set = (dst->set & ~POLICY_KEY_BIT(k)) | (src->set & POLICY_KEY_BIT(k));
        dst->source[k] = src->source[k];
}

/* ---- Reading INI text ----
 *
 * libinih does the splitting into section/key/value. In front of it sits our
 * reader, which hands inih one logical line at a time and so knows the line
 * number of every assignment (Debian's libinih is built without
 * INI_HANDLER_LINENO), joins backslash continuations as systemd does, and
 * turns lines inih would silently mangle (too long: inih cuts them into
 * pieces that parse as lines of their own; NUL bytes; no '=') into
 * diagnostics. inih therefore only ever sees well-formed lines. */

typedef struct IniReader {
        const char *text;
        size_t size, pos;
        unsigned next_line; /* number of the next physical line */
        unsigned line;      /* where the logical line just handed to inih starts */
        const char *file;
        const char *section_filter; /* diagnose malformed lines only in this section */
        char *section;              /* the current one, whole: inih cuts names at 49 bytes */
        bool in_filter_section;
        bool skipping;              /* after a broken [header]: until the next good one */
        bool starts_header;         /* the logical line just read starts with '[' */
        PolicyDiagnostics *diags;
        PolicyIniSection on_section;
        PolicyIniAssignment assignment;
        void *userdata;
        int error;
} IniReader;

static void ini_reader_fail(IniReader *r, int error) {
        if (r->error == 0)
                r->error = error;
}

static bool ini_reader_diagnoses(const IniReader *r) {
        return !r->section_filter || r->in_filter_section;
}

static void ini_reader_diagnose(IniReader *r, const char *message) {
        if (ini_reader_diagnoses(r) && policy_diagnostics_add(r->diags, r->file, r->line, NULL, "%s", message) < 0)
                ini_reader_fail(r, -ENOMEM);
}

static bool is_comment_start(char c) {
        return c == '#' || c == ';';
}

static const char *skip_blanks(const char *s) {
        while (*s && isspace((unsigned char) *s))
                s++;
        return s;
}

/* The first non-blank character of s (n bytes), or "" when there is none. */
static const char *skip_blanks_n(const char *s, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (!isspace((unsigned char) s[i]))
                        return s + i;
        return "";
}

/* Takes the next physical line; returns its length without "\n" (and "\r"). */
static size_t ini_reader_physical(IniReader *r, const char **ret) {
        const char *start = r->text + r->pos;
        const char *eol = memchr(start, '\n', r->size - r->pos);
        size_t n = eol ? (size_t) (eol - start) : r->size - r->pos;

        r->pos += n + (eol ? 1 : 0);
        r->next_line++;
        if (r->next_line == 2 && n >= 3 && memcmp(start, "\xef\xbb\xbf", 3) == 0) {
                start += 3; /* a UTF-8 byte order mark */
                n -= 3;
        }
        if (n > 0 && start[n - 1] == '\r')
                n--;
        *ret = start;
        return n;
}

static bool physical_is_comment(const char *s, size_t n) {
        size_t i = 0;
        while (i < n && isspace((unsigned char) s[i]))
                i++;
        return i < n && is_comment_start(s[i]);
}

/* Assembles the next logical line into buf (capacity max + 1). Returns its
 * length, or max + 1 when it does not fit, or -1 at the end of the text. */
static ssize_t ini_reader_logical(IniReader *r, char *buf, size_t max) {
        size_t len = 0;
        bool continued = true, first = true, too_long = false;

        if (r->pos >= r->size)
                return -1;

        r->line = r->next_line;
        while (continued && r->pos < r->size) {
                const char *s;
                size_t n = ini_reader_physical(r, &s);

                /* a comment never continues, however long it is; systemd
                 * skips comment lines inside a continuation */
                if (physical_is_comment(s, n)) {
                        if (!first)
                                continue;
                        buf[0] = 0;
                        return 0;
                }
                if (first)
                        r->starts_header = *skip_blanks_n(s, n) == '[';
                first = false;

                continued = n > 0 && s[n - 1] == '\\';
                if (continued)
                        n--;
                if (too_long || len + n + (continued ? 1 : 0) > max) {
                        too_long = true;
                        continue;
                }
                memcpy(buf + len, s, n);
                len += n;
                if (continued)
                        buf[len++] = ' ';
        }

        if (too_long)
                return (ssize_t) max + 1;
        buf[len] = 0;
        return (ssize_t) len;
}

/* A "[Name]" line, optionally followed by a comment. Returns true if well
 * formed; the name must be something inih reads back the same way. */
static bool ini_header_parse(const char *s, const char **ret_name, size_t *ret_len) {
        const char *end = strchr(s + 1, ']');
        const char *rest;
        size_t len;

        if (!end)
                return false;
        len = end - (s + 1);
        if (len == 0 || memchr(s + 1, '[', len) || memchr(s + 1, ';', len) || memchr(s + 1, '#', len))
                return false;
        rest = skip_blanks(end + 1);
        if (*rest && !is_comment_start(*rest))
                return false;
        *ret_name = s + 1;
        *ret_len = len;
        return true;
}

/* "Key=value": a non-empty key, and '=' before any ':' (inih would take
 * "Key: value" too; systemd does not) or inline comment. */
static bool ini_assignment_ok(const char *s) {
        bool was_space = false;

        for (const char *p = s; *p; p++) {
                if (*p == '=')
                        return p > s;
                if (*p == ':' || (was_space && is_comment_start(*p)))
                        return false;
                was_space = isspace((unsigned char) *p);
        }
        return false;
}

static void ini_reader_header(IniReader *r, const char *s) {
        const char *name;
        size_t len;

        if (ini_header_parse(s, &name, &len)) {
                free(r->section);
                r->section = strndup(name, len);
                if (!r->section)
                        ini_reader_fail(r, -ENOMEM);
                r->in_filter_section = r->section_filter && strlen(r->section_filter) == len &&
                                       memcmp(name, r->section_filter, len) == 0;
                r->skipping = false;
                if (r->section && r->on_section) {
                        int k = r->on_section(r->section, r->line, r->userdata);
                        if (k < 0)
                                ini_reader_fail(r, k);
                }
                return;
        }

        /* A broken header of our own section is ours to report, even when
         * the section before it is not. */
        if (r->section_filter && strstr(s, r->section_filter))
                r->in_filter_section = true;
        ini_reader_diagnose(r, "Invalid section header, ignoring it and the lines up to the next section");
        r->in_filter_section = false;
        r->skipping = true;
}

/* The ini_reader for inih: an fgets() that hands out only well-formed lines
 * and turns everything else into an empty line plus a diagnostic. */
static char *ini_reader_next(char *str, int num, void *stream) {
        IniReader *r = stream;
        size_t max;

        if (num < 3)
                return NULL;
        max = (size_t) num - 2; /* room for "\n" and NUL */
        if (max > POLICY_LINE_MAX)
                max = POLICY_LINE_MAX;

        for (;;) {
                ssize_t len = ini_reader_logical(r, str, max);
                const char *s;

                if (len < 0)
                        return NULL;
                if ((size_t) len > max) {
                        char m[128];

                        if (r->starts_header) {
                                /* A header we cannot read still ends the section
                                 * before it: its lines must not join that one. */
                                snprintf(m, sizeof(m),
                                         "Section header is longer than %zu characters, ignoring it and the lines up to the next section",
                                         max);
                                ini_reader_diagnose(r, m);
                                r->in_filter_section = false;
                                r->skipping = true;
                                continue;
                        }
                        snprintf(m, sizeof(m), "Line is longer than %zu characters, ignoring", max);
                        if (!r->skipping)
                                ini_reader_diagnose(r, m);
                        continue;
                }
                if (strlen(str) != (size_t) len) {
                        if (!r->skipping)
                                ini_reader_diagnose(r, "Line contains a NUL byte, ignoring");
                        continue;
                }

                s = skip_blanks(str);
                if (!*s || is_comment_start(*s))
                        continue;
                if (*s == '[')
                        ini_reader_header(r, s);
                else if (r->skipping)
                        continue;
                else if (!ini_assignment_ok(s)) {
                        ini_reader_diagnose(r, "Line is neither a [Section] header nor a Key=value assignment, ignoring");
                        continue;
                }
                if (r->skipping)
                        continue;

                str[len] = '\n';
                str[len + 1] = 0;
                return str;
        }
}

static int ini_reader_assignment(void *user, const char *section, const char *name, const char *value) {
        IniReader *r = user;
        int k;

        /* our own copy of the section name: inih's is cut at 49 bytes, and
         * [Group PATTERN] rules have long ones */
        k = r->assignment(r->section ?: "", name, value, r->line, r->userdata);
        if (k < 0)
                ini_reader_fail(r, k);
        return 1; /* our errors are diagnostics, not inih's */
}

/* inih's knobs are process-wide globals in Debian's build; memqos sets them
 * all, the same way, before every parse. */
static void ini_configure(void) {
        ini_allow_multiline = false;        /* systemd has no indented continuation */
        ini_allow_bom = false;              /* our reader strips it */
        ini_start_comment_prefixes = (char *) ";#";
        ini_allow_inline_comments = true;   /* "MemoryPriority=2   # comment" */
        ini_inline_comment_prefixes = (char *) ";#";
        ini_use_stack = true;
        ini_max_line = POLICY_LINE_MAX + 3; /* "\r\n" and NUL */
        ini_allow_realloc = false;
        ini_stop_on_first_error = false;
        ini_allow_no_value = false;
}

int policy_ini_parse(const char *text, size_t size, const char *file, const char *section,
                     PolicyIniAssignment assignment, void *userdata, PolicyDiagnostics *diags) {
        return policy_ini_parse_sections(text, size, file, section, NULL, assignment, userdata, diags);
}

int policy_ini_parse_sections(const char *text, size_t size, const char *file, const char *section,
                              PolicyIniSection on_section, PolicyIniAssignment assignment, void *userdata,
                              PolicyDiagnostics *diags) {
        IniReader r = {
                .text = text,
                .size = size,
                .next_line = 1,
                .file = file,
                .section_filter = section,
                .diags = diags,
                .on_section = on_section,
                .assignment = assignment,
                .userdata = userdata,
        };
        int k;

        ini_configure();
        k = ini_parse_stream(ini_reader_next, &r, ini_reader_assignment, &r);
        free(r.section);
        if (k == -2)
                return -ENOMEM;
        /* k > 0 cannot happen as inih only sees well-formed lines */
        return r.error;
}

int policy_read_file(const char *path, char **ret, size_t *ret_size) {
        _cleanup_(closep) int fd = -1;
        _cleanup_(freep) char *buf = NULL;
        size_t size = 0, allocated = 0;
        struct stat st;

        /* O_NONBLOCK: a FIFO dropped into a .d/ directory must not hang us */
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        if (!S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode)) /* character devices: /dev/null masks */
                return -EBADFD;

        for (;;) {
                ssize_t k;

                if (size + 1 >= allocated) {
                        size_t a = allocated ? allocated * 2 : 4096;
                        char *b;

                        if (a > POLICY_FILE_SIZE_MAX + 1)
                                a = POLICY_FILE_SIZE_MAX + 1;
                        if (size + 1 >= a)
                                return -EFBIG;
                        b = realloc(buf, a);
                        if (!b)
                                return -ENOMEM;
                        buf = b;
                        allocated = a;
                }

                k = read(fd, buf + size, allocated - 1 - size);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        break;
                size += k;
        }

        buf[size] = 0;
        *ret = TAKE_PTR(buf);
        *ret_size = size;
        return 0;
}

int policy_list_dropins(const char *dir, char ***ret, size_t *ret_n) {
        _cleanup_(closedirp) DIR *d = NULL;
        _cleanup_strv_free_ char **names = NULL;
        size_t n = 0;
        struct dirent *de;

        names = calloc(1, sizeof(char *));
        if (!names)
                return -ENOMEM;
        if (dir) {
                d = opendir(dir);
                if (!d && errno != ENOENT)
                        return -errno;
        }
        while (d && (de = readdir(d))) {
                struct stat st;
                char **l;

                if (de->d_name[0] == '.' || !endswith(de->d_name, ".conf"))
                        continue;
                /* symlinks are followed, as systemd does: one to /dev/null masks */
                if (fstatat(dirfd(d), de->d_name, &st, 0) < 0 || S_ISDIR(st.st_mode))
                        continue;
                l = reallocarray(names, n + 2, sizeof(char *));
                if (!l)
                        return -ENOMEM;
                names = l;
                names[n + 1] = NULL;
                if (asprintf(&names[n], "%s/%s", dir, de->d_name) < 0) {
                        names[n] = NULL;
                        return -ENOMEM;
                }
                n++;
        }

        /* same directory, so comparing the paths compares the names */
        qsort(names, n, sizeof(char *), strcmp_ptr);
        *ret = TAKE_PTR(names);
        *ret_n = n;
        return 0;
}

/* ---- [X-MemQoS] ---- */

typedef struct PolicyParser {
        Policy policy;
        const char *file;
        unsigned file_index; /* of file in the list parsed, for Policy.source */
        PolicyDiagnostics *diags;
} PolicyParser;

static int policy_assign_thresholds(PolicyParser *pp, const char *key, const char *value, unsigned line) {
        Threshold t[POLICY_THRESHOLDS_MAX];
        char bad[64], shown[POLICY_ESCAPE_BUF_SIZE], shown_bad[POLICY_ESCAPE_BUF_SIZE];
        Threshold all[POLICY_THRESHOLDS_MAX];
        Policy *p = &pp->policy;
        size_t n = 0, merged;
        int r;

        policy_escape_value(value, shown, sizeof(shown));
        r = thresholds_parse(value, t, ELEMENTSOF(t), &n, bad, sizeof(bad));
        policy_escape_value(bad, shown_bad, sizeof(shown_bad));
        if (r == -E2BIG)
                return policy_diagnostics_add(pp->diags, pp->file, line, key,
                                              "%s=%s lists more than %d thresholds, ignoring", key, shown,
                                              POLICY_THRESHOLDS_MAX) ?: -EINVAL;
        if (r == -ERANGE)
                return policy_diagnostics_add(pp->diags, pp->file, line, key,
                                              "%s=%s: '%s' is out of range (1%%..100%% of the limit, or a size above 0), ignoring",
                                              key, shown, shown_bad) ?: -EINVAL;
        if (r < 0)
                return policy_diagnostics_add(pp->diags, pp->file, line, key,
                                              "%s=%s: '%s' is neither a percentage like 80%% nor a size like 512M or 1G, ignoring",
                                              key, shown, shown_bad) ?: -EINVAL;

        /* A list setting, as in systemd: assignments add to the list, an
         * empty one clears it. Repeating a threshold adds nothing. */
        merged = policy_has(p, POLICY_MEMORY_THRESHOLDS) ? p->n_thresholds : 0;
        memcpy(all, p->thresholds, merged * sizeof(Threshold));
        for (size_t i = 0; i < n; i++) {
                bool dup = false;
                for (size_t j = 0; j < merged && !dup; j++)
                        dup = all[j].is_percent == t[i].is_percent && all[j].value == t[i].value;
                if (dup)
                        continue;
                if (merged >= POLICY_THRESHOLDS_MAX)
                        return policy_diagnostics_add(pp->diags, pp->file, line, key,
                                                      "%s=%s would make more than %d thresholds for the unit, ignoring",
                                                      key, shown, POLICY_THRESHOLDS_MAX) ?: -EINVAL;
                all[merged++] = t[i];
        }

        memcpy(p->thresholds, all, merged * sizeof(Threshold));
        p->n_thresholds = merged;
        return 0;
}

static int policy_assign_unsigned(PolicyParser *pp, const char *key, const char *value, unsigned line,
                                  unsigned min, unsigned max, unsigned *field) {
        char shown[POLICY_ESCAPE_BUF_SIZE];
        int r;

        r = policy_parse_unsigned(value, min, max, field);
        if (r == 0)
                return 0;
        policy_escape_value(value, shown, sizeof(shown));
        return policy_diagnostics_add(pp->diags, pp->file, line, key,
                                      r == -ERANGE ? "%s=%s is out of range %u..%u, ignoring"
                                                   : "%s=%s is not a whole number in the range %u..%u, ignoring",
                                      key, shown, min, max) ?: -EINVAL;
}

/* Returns 0 when assigned, -EINVAL when the value was invalid (diagnosed),
 * -ENOMEM. */
static int policy_assign(PolicyParser *pp, PolicyKey k, const char *key, const char *value, unsigned line) {
        Policy *p = &pp->policy;
        char shown[POLICY_ESCAPE_BUF_SIZE];

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
                policy_escape_value(value, shown, sizeof(shown));
                return policy_diagnostics_add(pp->diags, pp->file, line, key,
                                              "%s=%s is not a boolean (yes/no, true/false, on/off, 1/0), ignoring",
                                              key, shown) ?: -EINVAL;
        case POLICY_MEMORY_THRESHOLDS:
                return policy_assign_thresholds(pp, key, value, line);
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
                char shown[POLICY_ESCAPE_BUF_SIZE];
                return policy_diagnostics_add(pp->diags, pp->file, line, key,
                                              "Unknown key %s= in [" POLICY_SECTION "], ignoring",
                                              policy_escape_value(key, shown, sizeof(shown)));
        }

        if (!*value) {
                /* "Key=" resets, as in systemd */
                p->set &= ~POLICY_KEY_BIT(k);
                if (k == POLICY_MEMORY_THRESHOLDS)
                        p->n_thresholds = 0;
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
                       Policy *ret, PolicyDiagnostics *diags) {
        PolicyParser pp = { .diags = diags };
        int r;

        for (size_t i = 0; i < n; i++) {
                pp.file = names[i];
                pp.file_index = (unsigned) i;
                r = policy_ini_parse(texts[i], sizes[i], names[i], POLICY_SECTION, policy_assignment, &pp,
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
                       PolicyDiagnostics *diags) {
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
                r = policy_read_file(paths[i], &t.texts[i], &t.sizes[i]);
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        unreadable = true;
                        r = policy_diagnostics_add(diags, paths[i], 0, NULL,
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
