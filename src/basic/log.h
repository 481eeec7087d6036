/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Logging and structured events.
 *
 * Everything memqosd says goes through here. With the journal as target every
 * message is sent with sd_journal_sendv(): messages about a unit carry
 * OBJECT_SYSTEMD_UNIT= (so `journalctl -u UNIT` finds them, which UNIT= would
 * not, as that field is trusted only from PID 1) and MEMQOS_CGROUP=, and
 * MEMQOS_OBJECT= names what it is about either way: the unit, or the cgroup
 * of a [Group] rule (which has no unit); the catalog says @MEMQOS_OBJECT@.
 * Without a journal (no journald, as on hosts without systemd, or when asked
 * with --log-target=stderr) the same message goes to stderr as one line:
 *
 *     <level> [unit] message KEY=value KEY=value ...
 *
 * so that tests and operators can read the fields without a journal. */

#include <stdarg.h>
#include <syslog.h>

#include "basic/util.h"

typedef enum LogTarget {
        LOG_TARGET_AUTO,    /* journal if its socket exists, else stderr */
        LOG_TARGET_JOURNAL,
        LOG_TARGET_STDERR,
        _LOG_TARGET_MAX,
        _LOG_TARGET_INVALID = -EINVAL,
} LogTarget;

void log_set_target(LogTarget target);
LogTarget log_get_target(void); /* never AUTO: the resolved target */
void log_set_max_level(int level);
int log_get_max_level(void);

LogTarget log_target_from_string(const char *s);
/* "debug", "info", "notice", "warning", "err", "crit" or 0..7 -> LOG_*, or -EINVAL */
int log_level_from_string(const char *s);
const char *log_level_to_string(int level);

/* The core: level, errno (0 or negative; sets ERRNO= and %m), unit and
 * cgroup (either may be NULL), MESSAGE_ID (may be NULL), extra fields as a
 * NULL-terminated vector of "KEY=value" strings (may be NULL), and the message.
 * Returns -abs(error) so that callers can `return log_...(r, ...)`. */
int log_fullv(int level, int error, const char *unit, const char *cgroup, const char *message_id,
              char *const *fields, const char *format, va_list ap) _printf_(7, 0);
int log_full(int level, int error, const char *unit, const char *cgroup, const char *message_id,
             char *const *fields, const char *format, ...) _printf_(7, 8);

#define log_debug(...)   log_full(LOG_DEBUG, 0, NULL, NULL, NULL, NULL, __VA_ARGS__)
#define log_info(...)    log_full(LOG_INFO, 0, NULL, NULL, NULL, NULL, __VA_ARGS__)
#define log_notice(...)  log_full(LOG_NOTICE, 0, NULL, NULL, NULL, NULL, __VA_ARGS__)
#define log_warning(...) log_full(LOG_WARNING, 0, NULL, NULL, NULL, NULL, __VA_ARGS__)
#define log_error(...)   log_full(LOG_ERR, 0, NULL, NULL, NULL, NULL, __VA_ARGS__)

#define log_debug_errno(e, ...)   log_full(LOG_DEBUG, (e), NULL, NULL, NULL, NULL, __VA_ARGS__)
#define log_info_errno(e, ...)    log_full(LOG_INFO, (e), NULL, NULL, NULL, NULL, __VA_ARGS__)
#define log_warning_errno(e, ...) log_full(LOG_WARNING, (e), NULL, NULL, NULL, NULL, __VA_ARGS__)
#define log_error_errno(e, ...)   log_full(LOG_ERR, (e), NULL, NULL, NULL, NULL, __VA_ARGS__)

#define log_oom() log_error_errno(-ENOMEM, "Out of memory.")

/* About one unit (or, without systemd, one cgroup): unit and cgroup fields. */
#define log_unit_full(level, e, unit, cgroup, ...) log_full((level), (e), (unit), (cgroup), NULL, NULL, __VA_ARGS__)
#define log_unit_debug(unit, cgroup, ...)   log_unit_full(LOG_DEBUG, 0, unit, cgroup, __VA_ARGS__)
#define log_unit_info(unit, cgroup, ...)    log_unit_full(LOG_INFO, 0, unit, cgroup, __VA_ARGS__)
#define log_unit_warning(unit, cgroup, ...) log_unit_full(LOG_WARNING, 0, unit, cgroup, __VA_ARGS__)
#define log_unit_warning_errno(unit, cgroup, e, ...) log_unit_full(LOG_WARNING, (e), unit, cgroup, __VA_ARGS__)
#define log_unit_error_errno(unit, cgroup, e, ...)   log_unit_full(LOG_ERR, (e), unit, cgroup, __VA_ARGS__)

/* A message with a MESSAGE_ID (an event), as passed to the observer: every
 * event, whatever the log's max level, before it is written. The strings
 * are valid during the call only. */
typedef struct LogEvent {
        int level;
        const char *unit, *cgroup, *message_id;
        char *const *fields; /* "KEY=value", NULL-terminated, may be NULL */
        const char *message;
} LogEvent;
typedef void (*LogEventObserver)(const LogEvent *ev, void *userdata);
/* One observer (NULL: none); the D-Bus API makes signals of events. */
void log_set_event_observer(LogEventObserver observer, void *userdata);

/* Building the field vector of an event: a small growable array of
 * "KEY=value" strings, freed with fields_done(). */
typedef struct Fields {
        char **v;
        size_t n, allocated;
} Fields;

int fields_add(Fields *f, const char *key, const char *format, ...) _printf_(3, 4);
/* A byte count as a field: raw digits, or "max" for no limit (UINT64_MAX),
 * the same in every event so that scripts compare numbers. */
int fields_add_bytes(Fields *f, const char *key, uint64_t v);
void fields_done(Fields *f);
