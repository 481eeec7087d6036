/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/stat.h>

#include <ini.h>

#include "basic/ini-file.h"
#include "basic/util.h"

/* ---- Diagnostics ---- */

void diagnostics_done(Diagnostics *d) {
        if (!d)
                return;
        for (size_t i = 0; i < d->n; i++) {
                free(d->items[i].file);
                free(d->items[i].key);
                free(d->items[i].message);
        }
        free(d->items);
        *d = (Diagnostics) {};
}

int diagnostics_add(Diagnostics *d, const char *file, unsigned line, const char *key,
                           const char *format, ...) {
        Diagnostic *items, n = { .line = line };
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

                items = reallocarray(d->items, a, sizeof(Diagnostic));
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

const char *escape_value_short(const char *s, char *buf, size_t size) {
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
        Diagnostics *diags;
        IniSection on_section;
        IniAssignment assignment;
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
        if (ini_reader_diagnoses(r) && diagnostics_add(r->diags, r->file, r->line, NULL, "%s", message) < 0)
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
        if (max > INI_LINE_MAX)
                max = INI_LINE_MAX;

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
        ini_max_line = INI_LINE_MAX + 3; /* "\r\n" and NUL */
        ini_allow_realloc = false;
        ini_stop_on_first_error = false;
        ini_allow_no_value = false;
}

int ini_parse_text(const char *text, size_t size, const char *file, const char *section,
                     IniAssignment assignment, void *userdata, Diagnostics *diags) {
        return ini_parse_sections(text, size, file, section, NULL, assignment, userdata, diags);
}

int ini_parse_sections(const char *text, size_t size, const char *file, const char *section,
                              IniSection on_section, IniAssignment assignment, void *userdata,
                              Diagnostics *diags) {
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

int read_file_full(const char *path, char **ret, size_t *ret_size) {
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

                        if (a > READ_FILE_SIZE_MAX + 1)
                                a = READ_FILE_SIZE_MAX + 1;
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

int dropins_list(const char *dir, char ***ret, size_t *ret_n) {
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
