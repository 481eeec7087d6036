/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stdio.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>
#include <time.h>

#include "basic/log.h"

static LogTarget log_target = LOG_TARGET_AUTO;
static int log_max_level = LOG_INFO;

static const char *const level_names[] = {
        [LOG_EMERG] = "emerg",   [LOG_ALERT] = "alert", [LOG_CRIT] = "crit",
        [LOG_ERR] = "err",       [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
        [LOG_INFO] = "info",     [LOG_DEBUG] = "debug",
};

static const char *const target_names[_LOG_TARGET_MAX] = {
        [LOG_TARGET_AUTO] = "auto",
        [LOG_TARGET_JOURNAL] = "journal",
        [LOG_TARGET_STDERR] = "stderr",
};

static bool has_control_bytes(const char *s) {
        for (; *s; s++)
                if (is_control_byte(*s))
                        return true;
        return false;
}

static LogTarget resolve_target(void) {
        if (log_target == LOG_TARGET_AUTO)
                /* journald's native socket: present wherever journald runs. */
                log_target = access("/run/systemd/journal/socket", W_OK) >= 0 ? LOG_TARGET_JOURNAL
                                                                              : LOG_TARGET_STDERR;
        return log_target;
}

void log_set_target(LogTarget target) {
        log_target = target;
}

LogTarget log_get_target(void) {
        return resolve_target();
}

void log_set_max_level(int level) {
        log_max_level = level;
}

int log_get_max_level(void) {
        return log_max_level;
}

LogTarget log_target_from_string(const char *s) {
        for (size_t i = 0; i < ELEMENTSOF(target_names); i++)
                if (streq(s, target_names[i]))
                        return (LogTarget) i;
        return _LOG_TARGET_INVALID;
}

int log_level_from_string(const char *s) {
        for (size_t i = 0; i < ELEMENTSOF(level_names); i++)
                if (streq(s, level_names[i]))
                        return (int) i;
        if (s[0] >= '0' && s[0] <= '7' && s[1] == 0)
                return s[0] - '0';
        return -EINVAL;
}

DEFINE_STRING_TABLE_TO_STRING(log_level, int, level_names)

static int log_to_stderr(int level, const char *unit, const char *cgroup, const char *message_id,
                         char *const *fields, const char *message) {
        /* One line per message; fields as KEY=value so that scripts can grep. */
        fprintf(stderr, "%s", log_level_to_string(level));
        if (unit)
                fprintf(stderr, " [%s]", unit);
        else if (cgroup)
                fprintf(stderr, " [%s]", cgroup);
        fprintf(stderr, " %s", message);
        if (message_id)
                fprintf(stderr, " MESSAGE_ID=%s", message_id);
        if (cgroup)
                fprintf(stderr, " MEMQOS_CGROUP=%s", cgroup);
        if (unit || cgroup)
                fprintf(stderr, " MEMQOS_OBJECT=%s", unit ?: cgroup);
        for (char *const *f = fields; f && *f; f++)
                fprintf(stderr, " %s", *f);
        fputc('\n', stderr);
        return 0;
}

static int log_to_journal(int level, int error, const char *unit, const char *cgroup,
                          const char *message_id, char *const *fields, const char *message) {
        _cleanup_(fields_done) Fields f = {};
        int r;

        if (fields_add(&f, "MESSAGE", "%s", message) < 0 ||
            fields_add(&f, "PRIORITY", "%i", level) < 0 ||
            fields_add(&f, "SYSLOG_IDENTIFIER", "%s", program_invocation_short_name) < 0)
                return -ENOMEM;
        if (message_id && fields_add(&f, "MESSAGE_ID", "%s", message_id) < 0)
                return -ENOMEM;
        if (unit && fields_add(&f, "OBJECT_SYSTEMD_UNIT", "%s", unit) < 0)
                return -ENOMEM;
        if (cgroup && fields_add(&f, "MEMQOS_CGROUP", "%s", cgroup) < 0)
                return -ENOMEM;
        if ((unit || cgroup) && fields_add(&f, "MEMQOS_OBJECT", "%s", unit ?: cgroup) < 0)
                return -ENOMEM;
        if (error != 0 && fields_add(&f, "ERRNO", "%i", -error) < 0)
                return -ENOMEM;

        size_t n_extra = strv_length(fields);
        _cleanup_free_ struct iovec *iov = calloc(f.n + n_extra, sizeof(struct iovec));
        if (!iov)
                return -ENOMEM;
        size_t k = 0;
        for (size_t i = 0; i < f.n; i++)
                iov[k++] = (struct iovec) { .iov_base = f.v[i], .iov_len = strlen(f.v[i]) };
        for (size_t i = 0; i < n_extra; i++)
                iov[k++] = (struct iovec) { .iov_base = fields[i], .iov_len = strlen(fields[i]) };

        r = sd_journal_sendv(iov, (int) k);
        return r;
}

static LogEventObserver event_observer;
static void *event_observer_userdata;

void log_set_event_observer(LogEventObserver observer, void *userdata) {
        event_observer = observer;
        event_observer_userdata = userdata;
}

int log_fullv(int level, int error, const char *unit, const char *cgroup, const char *message_id,
              char *const *fields, const char *format, va_list ap) {
        int saved_errno = errno;
        _cleanup_free_ char *message = NULL, *unit_escaped = NULL, *cgroup_escaped = NULL;

        if (error < 0)
                error = -error;
        /* An event goes to its observer whatever the level the log keeps. */
        if (level > log_max_level && !(message_id && event_observer))
                goto done;

        /* %m prints the error we were given, as in systemd. */
        errno = error;
        if (vasprintf(&message, format, ap) < 0) {
                message = NULL;
                goto done;
        }
        /* file names, keys and values read from files may hold anything */
        if (has_control_bytes(message)) {
                char *escaped = escape_control(message);
                if (!escaped)
                        goto done;
                free(message);
                message = escaped;
        }
        /* a cgroup's name is anyone's choice who may make one */
        if (unit && has_control_bytes(unit) && (unit_escaped = escape_control(unit)))
                unit = unit_escaped;
        if (cgroup && has_control_bytes(cgroup) && (cgroup_escaped = escape_control(cgroup)))
                cgroup = cgroup_escaped;

        if (message_id && event_observer)
                event_observer(&(LogEvent) {
                        .level = level,
                        .unit = unit,
                        .cgroup = cgroup,
                        .message_id = message_id,
                        .fields = fields,
                        .message = message,
                }, event_observer_userdata);
        if (level > log_max_level)
                goto done;

        if (resolve_target() == LOG_TARGET_JOURNAL) {
                if (log_to_journal(level, error, unit, cgroup, message_id, fields, message) >= 0)
                        goto done;
                /* journald gone (shutting down, restarting): say it on stderr rather
                 * than not at all. */
        }
        log_to_stderr(level, unit, cgroup, message_id, fields, message);

done:
        errno = saved_errno;
        return -error;
}

int log_full(int level, int error, const char *unit, const char *cgroup, const char *message_id,
             char *const *fields, const char *format, ...) {
        va_list ap;
        int r;

        va_start(ap, format);
        r = log_fullv(level, error, unit, cgroup, message_id, fields, format, ap);
        va_end(ap);
        return r;
}

int fields_add(Fields *f, const char *key, const char *format, ...) {
        _cleanup_free_ char *value = NULL;
        va_list ap;
        int r;

        va_start(ap, format);
        r = vasprintf(&value, format, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;

        if (f->n + 2 > f->allocated) {
                size_t a = f->allocated ? f->allocated * 2 : 8;
                char **v = reallocarray(f->v, a, sizeof(char *));
                if (!v)
                        return -ENOMEM;
                f->v = v;
                f->allocated = a;
        }
        if (has_control_bytes(value)) {
                char *escaped = escape_control(value);
                if (!escaped)
                        return -ENOMEM;
                free(value);
                value = escaped;
        }
        if (asprintf(&f->v[f->n], "%s=%s", key, value) < 0)
                return -ENOMEM;
        f->v[++f->n] = NULL;
        return 0;
}

int fields_add_bytes(Fields *f, const char *key, uint64_t v) {
        char b[FORMAT_SIZE_MAX];
        return fields_add(f, key, "%s", format_u64_or_max(b, v));
}

void fields_done(Fields *f) {
        for (size_t i = 0; i < f->n; i++)
                free(f->v[i]);
        free(f->v);
        *f = (Fields) {};
}
