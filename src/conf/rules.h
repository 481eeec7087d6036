/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

// Group rules: policies for cgroups that no systemd unit owns (kubelet's
// cgroupfs driver, container runtimes, batch systems), given in memqos.conf
// and in drop-ins as sections
//
//     [Group /kubepods/besteffort/*]
//     MemoryPriority=1
//     WatermarkRatio=80
//
// whose keys are exactly those of [X-MemQoS] (policy.h).
//
// Patterns are absolute cgroup paths as systemd spells them, matched with
// fnmatch(3) and FNM_PATHNAME: '*', '?' and '[...]' never match a '/'. A
// pattern may end in "/**", meaning "the path before it, and everything
// below": "/kubepods/**" matches "/kubepods" and "/kubepods/a/b/c"; "/**"
// matches every cgroup including "/". "**" anywhere else is refused, so that
// nobody mistakes it for a recursive wildcard in the middle of a path.
//
// Precedence: every rule that matches a cgroup applies, in the order the
// rules were read (memqos.conf top to bottom, then the drop-ins in lexical
// order of their file names, each top to bottom); for each key, the last
// matching rule that assigns it wins, as with a unit's drop-ins. "Key=" in a
// rule takes the key back out for the cgroups it matches. MemoryThresholds=
// too is replaced as a whole by a later rule, not added to. A more specific
// rule therefore belongs after a general one.
//
// Pure: the only I/O is reading the files given (and listing the drop-in
// directory in rules_load()). Problems are Diagnostics (file, line,
// key, message), in the words policy.c uses for [X-MemQoS].

#include <stdbool.h>
#include <stddef.h>

#include "conf/policy.h"

#define RULES_SECTION "Group"
#define RULES_DROPIN_DIR_DEFAULT "/etc/memqos/memqos.conf.d"

typedef struct GroupRule {
        char *glob;     /* as written; see rules_glob_validate() */
        Policy policy;  /* the keys the rule assigns */
        unsigned reset; /* POLICY_KEY_BIT()s of the keys it takes out again ("Key=") */
        char *file;     /* where the [Group] header is */
        unsigned line;
} GroupRule;

typedef struct RuleSet {
        GroupRule *rules; /* in precedence order: later ones win */
        size_t n;
        size_t n_unreadable; /* files that could not be read (diagnosed, their rules missing) */
} RuleSet;

void ruleset_done(RuleSet *rs);

/* True for "Group" and "Group <anything>": sections that belong to the
 * rules, which config.c skips. */
bool rules_section_is_group(const char *section);

/* 0 when glob is a pattern memqos accepts (see above), -EINVAL otherwise. */
int rules_glob_validate(const char *glob);

/* Reads the [Group] sections of config_path (NULL or missing: none), then of
 * every drop-in of dropin_dir (dropins_list()) in lexical order.
 * 0 or -ENOMEM; everything else is a diagnostic. */
int rules_load(const char *config_path, const char *dropin_dir, RuleSet *ret, Diagnostics *diags);

/* The same on explicit files. The other sections of every file, and
 * malformed lines, are config.c's to report (config_load() reads the same
 * files), so only [Group] problems are diagnosed here. A missing file is
 * skipped silently; a file that cannot be read otherwise
 * is a diagnostic (line 0) and counts in ret->n_unreadable, and the rules of
 * the others are loaded, so that the caller can choose to keep its old
 * rules instead. 0 or -ENOMEM. */
int rules_parse_files(const char *config_path, char *const *dropins, size_t n_dropins, RuleSet *ret,
                      Diagnostics *diags);

/* True when the rule's pattern matches cgroup (a path as systemd spells it). */
bool group_rule_matches(const GroupRule *r, const char *cgroup);

/* Merges every rule matching cgroup, in order, into *ret (later rules
 * override earlier ones key by key). Returns the number of rules that
 * matched; 0 (and an empty *ret) for none. ret_last (may be NULL) gets the
 * last matching rule, or NULL: for messages ("rule at file:line"). */
int rules_match(const RuleSet *rs, const char *cgroup, Policy *ret, const GroupRule **ret_last);

/* The "file:line" of each rule whose value is in force for cgroup for a key
 * in keys (POLICY_KEY_BIT()s): for each key, the last matching rule that
 * sets it. In rule order; 0 or -ENOMEM; *ret is NULL-terminated. */
int rules_sources(const RuleSet *rs, const char *cgroup, unsigned keys, char ***ret);

/* For a cgroup that is a systemd unit's and also matched by rules: the
 * unit's own [X-MemQoS] keys win, key by key; the rules fill in only the
 * keys the unit does not set. *ret_overridden (may be NULL) gets the
 * POLICY_KEY_BIT()s of the rule keys the unit overrode, for the journal. */
void rules_policy_under_unit(const Policy *rule, const Policy *unit, Policy *ret, unsigned *ret_overridden);

// The directories to watch for the rules: for each rule the longest literal
// prefix of its pattern that is a whole path ("/kubepods/besteffort/*" ->
// "/kubepods/besteffort", "/kubepods/**" -> "/kubepods", "/a/b" -> "/a/b",
// "/kube*" -> "/"), deduplicated, with those below another removed. A
// NULL-terminated vector (empty when there are no rules), sorted. 0 or
// -ENOMEM.
int rules_watch_roots(const RuleSet *rs, char ***ret);
