/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* MESSAGE_IDs of memqosd's journal events. Each has an entry in
 * units/memqos.catalog; keep the two in step. Never change an ID once
 * released: operators filter on them. */

#define MEMQOS_MESSAGE_STARTED          "dfbf0f22d1f046ffbc1ada53e52ccd3d"
#define MEMQOS_MESSAGE_POLICY_APPLIED   "4817973db7494c288d1b11496cabc3fb"
#define MEMQOS_MESSAGE_POLICY_INVALID   "c96034bc5fb04eb19f8c213e854f51f0"
#define MEMQOS_MESSAGE_FEATURE_MISSING  "2005f7750bbf40d68e14cda14e1d0eea"
#define MEMQOS_MESSAGE_LIMIT_CHANGED    "92602d1d16dd4fe5a6427cf727d98e30"
#define MEMQOS_MESSAGE_THRESHOLD        "916c163d02074225b93312a683ee9a6f"
#define MEMQOS_MESSAGE_OOM              "35b4eb409a8449a1ae2fbd47d9263a40"
#define MEMQOS_MESSAGE_OOM_KILL         "60bd26598cb147faaaf12615974afc84"
#define MEMQOS_MESSAGE_CONFIG_INVALID   "93f4be92d82740038a459684c2a374e1"
#define MEMQOS_MESSAGE_APPLY_FAILED     "a8823f0b18f848af87dc6835dfb469a0"
#define MEMQOS_MESSAGE_RECLAIM          "f99e65c964d04a11858d91ab2dda1358"
#define MEMQOS_MESSAGE_PRIORITY_KILL    "e237dcbd89ba4291bc83c314199d80eb"
#define MEMQOS_MESSAGE_BACKEND          "b170d7eae06c4c1180499c441bae1148"
#define MEMQOS_MESSAGE_LIMIT_RESTORED   "8f82f42ea5d245c8af662cbc3660f4c2"
#define MEMQOS_MESSAGE_RECLAIM_FOLDED   "1513b272178a419bab43da197d86af0d"
#define MEMQOS_MESSAGE_RELOADED         "77e349bead4a4968acbd3b1d5bc20e3e"
#define MEMQOS_MESSAGE_NOTIFIED         "a2e5df67d2264412b1308f5422de46ce"
#define MEMQOS_MESSAGE_GRACE_ENDED      "30ba89597ba74eae93006a848fc00484"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "basic/ini-file.h"
#include "basic/ratelimit.h"
#include "cgroup/kmsg.h"
#include "cgroup/memcg-watch.h"
#include "cgroup/memcg.h"
#include "conf/config.h"
#include "daemon/unit.h"
#include "emulate/emulator.h"
#include "emulate/squeeze.h"

/* Every journal event of memqosd is sent from here (events.c): what the
 * daemon's parts found is passed in as plain data, nothing is looked up
 * in the Manager. rl is the rate limiter of per-unit events (memqos.conf
 * EventRateLimit*=), NULL when rate limiting is off. */

/* The short name of an event's MESSAGE_ID ("threshold", "reclaim",
 * "priority-kill", "oom", "oom-kill", ...; memqosctl(1) lists them), for
 * the D-Bus signal and the state file; NULL for an ID not of memqosd. */
const char *event_kind(const char *message_id);

/* A unit went away: its events' rate-limit state goes too, so that units
 * that come and go (pods, transient scopes) do not grow it. */
void events_forget_unit(RateLimit *rl, const Unit *u);

/* ---- a unit's policy ---- */

/* One problem in the unit's own files (POLICY_INVALID). */
void event_policy_invalid(const Unit *u, const Diagnostic *d);
/* The policy in force and how (POLICY_APPLIED); limit_setting names what
 * sets the unit's limit, sources the file:line of each value. */
void event_policy_applied(const Unit *u, const char *limit_setting, uint64_t high, uint64_t low, char *const *sources);
/* The unit's memory limit changed from old; the watermarks that follow (LIMIT_CHANGED). */
void event_limit_changed(const Unit *u, uint64_t old, uint64_t high, uint64_t low, bool from_kernel);
/* Writing knob k failed with u->applied.error[k] (APPLY_FAILED; debug level for -ENOENT). */
void event_apply_failed(const Unit *u, MemcgKnob k);
/* This kernel lacks knob k, which units (space-separated names) want (FEATURE_MISSING). */
void event_feature_missing(MemcgKnob k, const char *units, const char *state_dir);

/* ---- the pressure socket ---- */

/* One notice on the pressure socket (memqos-pressure(7)), as said. */
typedef struct NoticeEvent {
        const char *cgroup;     /* whose clients (its processes and below) were told */
        const char *level;      /* "threshold", "reclaim", "kill" */
        size_t told;            /* clients that got the line */
        uint64_t want;          /* bytes asked back of cgroup */
        uint64_t usage, limit;  /* of the unit the line speaks of */
        uint64_t threshold;     /* crossed (threshold), wmark_high (reclaim), kill watermark (kill) */
        uint64_t grace_usec;    /* before memqosd acts; 0 for the threshold level */
} NoticeEvent;

/* Clients of u were told (NOTIFIED). Rate limited per unit, level and
 * threshold. */
void event_notified(RateLimit *rl, const Unit *u, const NoticeEvent *n);

/* ---- memqosd itself ---- */

/* Started and synced with systemd, or with the [Group] rules (STARTED). */
void event_started(size_t n_units, const MemcgRoot *root, Backend backend);
/* One CONFIG_INVALID event per diagnostic of memqos.conf or a drop-in,
 * naming file, line and key; suffix says what becomes of the setting. */
void event_config_invalid(const Diagnostics *d, int level, const char *suffix);
/* How reclaim (feature 0) or the priority OOM (feature 1) is put in force (BACKEND). */
void event_backend(int feature, const char *name, const char *backend, FeatureMode mode, const char *reason,
                   const char *file);
/* A limit a stopped memqosd left squeezed was put back (LIMIT_RESTORED). */
void event_limit_restored(const SqueezeRecord *rec);
/* A reload: failed with r < 0, taken, or refused for v's problems (RELOADED). */
void event_reloaded(const char *config_path, size_t n_rules, size_t n_units, int r, const ConfigVerdict *v);

/* ---- what the watches (memcg-watch.c, kmsg.c) report ----
 * Each is rate limited per unit and threshold; the next event that passes
 * says how many were folded (MEMQOS_FOLDED=). */
void event_threshold(RateLimit *rl, const Unit *u, const MemcgWatchEvent *ev);
void event_oom(RateLimit *rl, const Unit *u, const MemcgWatchEvent *ev);
/* A process killed by the kernel's OOM killer, as read from /dev/kmsg: the
 * message goes to the victim's unit and to the unit that ran out of memory,
 * the deepest of units containing each cgroup; root (may be NULL) to read
 * the usage. */
void event_oom_kill(const UnitTable *units, const MemcgRoot *root, const KmsgOomReport *r);

/* ---- memqosd's own reclaim and kill (emulate/emulator.h) ---- */

/* One reclaim pass. Rate limited per unit like the others; a folded pass is
 * logged at debug level, and the next event that passes carries the sum of
 * the folded ones. Returns true when this pass had an event of its own. */
bool event_reclaim(RateLimit *rl, const Unit *u, const EmulatorReclaim *ev);

/* The reclaim passes that were folded and not yet carried by an event, in
 * sum: said (by the emulator) one rate-limit interval after the first of
 * them at the latest, or when the unit goes away, so that every pass is in
 * the journal, by itself or in a sum; usage_after: where the last of them
 * left usage. */
void event_reclaim_folded(RateLimit *rl, const Unit *u, const char *cgroup, uint64_t reclaimed,
                          uint64_t duration_usec, uint64_t usage_after);

/* The grace after notices of the ladder ended (GRACE_ENDED): what the
 * cgroups told gave back, and what memqosd does now. Not rate limited: at
 * most one per reclaim episode and kill decision. */
void event_grace_ended(const Unit *u, const EmulatorGraceEnd *ev);

/* memqosd's pre-emptive priority kill: to the pressured unit and the victim's
 * (the deepest of units containing the victim's cgroup). */
void event_priority_kill(const UnitTable *units, const Unit *u, const EmulatorKill *ev);
