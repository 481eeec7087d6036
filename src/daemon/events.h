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

#include "daemon/manager.h"

/* A unit went away: its events' rate-limit state goes too, so that units
 * that come and go (pods, transient scopes) do not grow it. */
void events_forget_unit(Manager *m, const Unit *u);

/* Journal events for what the watches (memcg-watch.c, kmsg.c) report. Each is rate
 * limited per unit and threshold (memqos.conf EventRateLimit*=); the next
 * event that passes says how many were folded (MEMQOS_FOLDED=). */
void event_threshold(Manager *m, Unit *u, const MemcgWatchEvent *ev);
void event_oom(Manager *m, Unit *u, const MemcgWatchEvent *ev);
/* A process killed by the kernel's OOM killer, as read from /dev/kmsg: the
 * message goes to the victim's unit and to the unit that ran out of memory. */
void event_oom_kill(Manager *m, const KmsgOomReport *r);


/* One reclaim pass. Rate limited per unit like the others; a folded pass is
 * logged at debug level, and the next event that passes carries the sum of
 * the folded ones. Returns true when this pass had an event of its own. */
bool event_reclaim(Manager *m, Unit *u, const EmulatorReclaim *ev);

/* The reclaim passes that were folded and not yet carried by an event, in
 * sum: said (by the emulator) one rate-limit interval after the first of
 * them at the latest, or when the unit goes away, so that every pass is in
 * the journal, by itself or in a sum. */
void event_reclaim_folded(Manager *m, Unit *u, const char *cgroup, uint64_t reclaimed, uint64_t duration_usec,
                          uint64_t usage_after);


void event_priority_kill(Manager *m, Unit *u, const EmulatorKill *ev);
