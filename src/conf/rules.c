/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <ctype.h>
#include <fnmatch.h>
#include <stddef.h>

#include "basic/cgroup-path.h"
#include "basic/util.h"
#include "conf/rules.h"

/* ---- Rule sets ---- */

static void group_rule_done(GroupRule *r) {
        free(r->glob);
        free(r->file);
}

void ruleset_done(RuleSet *rs) {
        if (!rs)
                return;
        for (size_t i = 0; i < rs->n; i++)
                group_rule_done(&rs->rules[i]);
        free(rs->rules);
        *rs = (RuleSet) {};
}

static int ruleset_append(RuleSet *rs, GroupRule *r) {
        GroupRule *rules;

        rules = reallocarray(rs->rules, rs->n + 1, sizeof(GroupRule));
        if (!rules)
                return -ENOMEM;
        rs->rules = rules;
        rs->rules[rs->n++] = *r;
        *r = (GroupRule) {};
        return 0;
}

bool rules_section_is_group(const char *section) {
        size_t l = strlen(RULES_SECTION);

        return strncmp(section, RULES_SECTION, l) == 0 && (section[l] == 0 || isblank((unsigned char) section[l]));
}

int rules_glob_validate(const char *glob) {
        const char *p;
        size_t l;

        if (cgroup_path_validate(glob) < 0)
                return -EINVAL;

        /* "**" only as the whole last component */
        l = strlen(glob);
        for (p = strstr(glob, "**"); p; p = strstr(p + 1, "**"))
                if (!(p == glob + l - 2 && p[-1] == '/'))
                        return -EINVAL;
        return 0;
}

/* ---- Matching ---- */

// The pattern without a trailing "/**", in buf; whether there was one.
static bool glob_split_recursive(const char *glob, char *buf, size_t size) {
        bool recursive = endswith(glob, "/**");
        size_t l = strlen(glob) - (recursive ? 3 : 0);

        snprintf(buf, size, "%.*s", (int) l, glob);
        return recursive;
}

bool group_rule_matches(const GroupRule *r, const char *cgroup) {
        char base[PATH_MAX], path[PATH_MAX];

        if (!glob_split_recursive(r->glob, base, sizeof(base)))
                return fnmatch(base, cgroup, FNM_PATHNAME) == 0;

        if (!*base) /* every cgroup */
                return true;
        if (strlen(cgroup) >= sizeof(path))
                return false;
        // the cgroup itself, then each ancestor: "/a/b/c", "/a/b", "/a"
        strcpy(path, cgroup);
        for (;;) {
                char *slash;

                if (fnmatch(base, path, FNM_PATHNAME) == 0)
                        return true;
                slash = strrchr(path, '/');
                if (!slash || slash == path)
                        return false;
                *slash = 0;
        }
}

/* Where the value of each scalar key lives in a Policy. */
static const struct {
        size_t offset, size;
} policy_scalar_fields[_POLICY_KEY_MAX] = {
        [POLICY_MEMORY_PRIORITY] = { offsetof(Policy, memory_priority), sizeof(unsigned) },
        [POLICY_USE_PRIORITY_OOM] = { offsetof(Policy, use_priority_oom), sizeof(bool) },
        [POLICY_WATERMARK_RATIO] = { offsetof(Policy, watermark_ratio), sizeof(unsigned) },
        [POLICY_WATERMARK_SCALE_FACTOR] = { offsetof(Policy, watermark_scale_factor), sizeof(unsigned) },
        [POLICY_MEMORY_RESERVE] = { offsetof(Policy, memory_reserve), sizeof(Threshold) },
};

/* Takes key k's value from src into dst. */
static void policy_take_key(Policy *dst, const Policy *src, PolicyKey k) {
        if (policy_key_is_thresholds(k)) {
                size_t *dn, sn;
                Threshold *dt = policy_threshold_list(dst, k, &dn);
                const Threshold *st = policy_threshold_list_const(src, k, &sn);

                *dn = sn;
                memcpy(dt, st, sn * sizeof(Threshold));
        } else
                memcpy((char *) dst + policy_scalar_fields[k].offset, (const char *) src + policy_scalar_fields[k].offset,
                       policy_scalar_fields[k].size);
        dst->set |= POLICY_KEY_BIT(k);
}

int rules_match(const RuleSet *rs, const char *cgroup, Policy *ret, const GroupRule **ret_last) {
        const GroupRule *last = NULL;
        Policy merged = {};
        int n = 0;

        for (size_t i = 0; i < rs->n; i++) {
                const GroupRule *r = &rs->rules[i];

                if (!group_rule_matches(r, cgroup))
                        continue;
                for (PolicyKey k = 0; k < _POLICY_KEY_MAX; k++) {
                        if (policy_has(&r->policy, k))
                                policy_take_key(&merged, &r->policy, k);
                        else if (r->reset & POLICY_KEY_BIT(k)) {
                                merged.set &= ~POLICY_KEY_BIT(k);
                                if (policy_key_is_thresholds(k)) {
                                        size_t *list_n;
                                        (void) policy_threshold_list(&merged, k, &list_n);
                                        *list_n = 0;
                                }
                        }
                }
                last = r;
                n++;
        }

        *ret = merged;
        if (ret_last)
                *ret_last = last;
        return n;
}

void rules_policy_under_unit(const Policy *rule, const Policy *unit, Policy *ret, unsigned *ret_overridden) {
        assert(rule);

        Policy merged = *rule;

        for (PolicyKey k = 0; k < _POLICY_KEY_MAX; k++)
                if (policy_has(unit, k))
                        policy_take_key(&merged, unit, k);
        if (ret_overridden)
                *ret_overridden = rule->set & unit->set;
        *ret = merged;
}

/* ---- Watch roots ---- */

/* The literal directory part of a pattern: the components before the first
 * one with a wildcard, or the whole path when it has none. */
static char *glob_literal_prefix(const char *glob) {
        char base[PATH_MAX];
        const char *p, *end;

        glob_split_recursive(glob, base, sizeof(base));
        end = base + strlen(base);
        for (p = base; *p; ) {
                const char *next = p + 1 + strcspn(p + 1, "/");

                if (strcspn(p, "*?[\\") < (size_t) (next - p)) {
                        end = p;
                        break;
                }
                p = next;
        }
        if (end == base)
                return strdup("/");
        return strndup(base, end - base);
}

int rules_watch_roots(const RuleSet *rs, char ***ret) {
        assert(rs);

        _cleanup_strv_free_ char **prefixes = NULL;

        prefixes = calloc(rs->n + 1, sizeof(char *));
        if (!prefixes)
                return -ENOMEM;
        for (size_t i = 0; i < rs->n; i++)
                if (!(prefixes[i] = glob_literal_prefix(rs->rules[i].glob)))
                        return -ENOMEM;

        return cgroup_paths_minimize(prefixes, rs->n, ret);
}

// ---- Reading ----
//
// The same INI reader as memqos.conf's settings (ini_parse_sections()),
// so that both read the same sections from the same lines: each header
// starts a draft, or ends the current one when it is not a [Group]; each
// assignment goes to the current draft. The values of one [Group] section are
// then handed to policy_parse_texts() as an [X-MemQoS] section of their own,
// so that they are checked, and diagnosed, exactly as in a unit.

typedef struct Assignment {
        char *key, *value;
        unsigned line;
} Assignment;

/* One [Group] section as written, before its values are checked. */
typedef struct GroupDraft {
        char *glob; /* NULL: the pattern is invalid (diagnosed), the section ignored */
        unsigned line;
        Assignment *assignments;
        size_t n_assignments;
} GroupDraft;

typedef struct RulesParser {
        const char *file;
        Diagnostics *diags;
        GroupDraft *drafts;
        size_t n_drafts;
        bool in_group; /* the current section is drafts[n_drafts - 1] */
} RulesParser;

static void group_draft_done(GroupDraft *d) {
        for (size_t i = 0; i < d->n_assignments; i++) {
                free(d->assignments[i].key);
                free(d->assignments[i].value);
        }
        free(d->assignments);
        free(d->glob);
}

static void rules_parser_done(RulesParser *rp) {
        for (size_t i = 0; i < rp->n_drafts; i++)
                group_draft_done(&rp->drafts[i]);
        free(rp->drafts);
}

/* Starts the draft of the [Group] section whose header is on line. */
static int rules_parser_begin_group(RulesParser *rp, const char *name, unsigned line) {
        char shown[ESCAPE_VALUE_SHORT_BUF_SIZE];
        GroupDraft d = { .line = line }, *drafts;
        const char *glob = name + strlen(RULES_SECTION);
        size_t l;

        glob += strspn(glob, " \t");
        l = strlen(glob);
        while (l > 0 && isblank((unsigned char) glob[l - 1]))
                l--;
        d.glob = strndup(glob, l);
        if (!d.glob)
                return -ENOMEM;

        if (rules_glob_validate(d.glob) < 0) {
                int r = diagnostics_add(
                        rp->diags, rp->file, d.line, NULL,
                        "[%s]: the pattern must be an absolute cgroup path, with \"**\" only as a last \"/**\"; ignoring the section",
                        escape_value_short(name, shown, sizeof(shown)));
                free(d.glob);
                d.glob = NULL;
                if (r < 0)
                        return r;
        }

        drafts = reallocarray(rp->drafts, rp->n_drafts + 1, sizeof(GroupDraft));
        if (!drafts) {
                group_draft_done(&d);
                return -ENOMEM;
        }
        rp->drafts = drafts;
        rp->drafts[rp->n_drafts++] = d;
        return 0;
}

static int group_draft_add(GroupDraft *d, const char *key, const char *value, unsigned line) {
        Assignment *a;

        a = reallocarray(d->assignments, d->n_assignments + 1, sizeof(Assignment));
        if (!a)
                return -ENOMEM;
        d->assignments = a;
        a = &d->assignments[d->n_assignments];
        *a = (Assignment) { .key = strdup(key), .value = strdup(value), .line = line };
        if (!a->key || !a->value) {
                free(a->key);
                free(a->value);
                return -ENOMEM;
        }
        d->n_assignments++;
        return 0;
}

static int rules_section(const char *section, unsigned line, void *userdata) {
        RulesParser *rp = userdata;

        assert(section);
        assert(rp);

        /* the other sections, of memqos.conf and of its drop-ins, are config.c's */
        rp->in_group = rules_section_is_group(section);
        if (!rp->in_group)
                return 0;
        return rules_parser_begin_group(rp, section, line);
}

static int rules_assignment(const char *section, const char *key, const char *value, unsigned line,
                            void *userdata) {
        RulesParser *rp = userdata;

        assert(key);
        assert(value);
        assert(rp);

        if (!rp->in_group)
                return 0;
        if (!rp->drafts[rp->n_drafts - 1].glob) /* invalid pattern, said once */
                return 0;
        return group_draft_add(&rp->drafts[rp->n_drafts - 1], key, value, line);
}

/* Unknown keys are diagnosed here, naming the [Group] section; the known
 * ones go to policy.c as a section of their own, line by line, and its
 * diagnostics get the real line numbers back. */
/* Puts diags->items[start..] in line order (stable: small ranges, insertion). */
static void diagnostics_sort_from(Diagnostics *diags, size_t start) {
        for (size_t i = start + 1; diags && i < diags->n; i++) {
                Diagnostic t = diags->items[i];
                size_t j = i;

                for (; j > start && diags->items[j - 1].line > t.line; j--)
                        diags->items[j] = diags->items[j - 1];
                diags->items[j] = t;
        }
}

static int group_draft_to_rule(const GroupDraft *d, const char *file, GroupRule *ret, Diagnostics *diags) {
        _cleanup_free_ char *text = NULL;
        _cleanup_free_ unsigned *lines = NULL;
        _cleanup_(diagnostics_done) Diagnostics local = {};
        char shown[ESCAPE_VALUE_SHORT_BUF_SIZE], shown_glob[ESCAPE_VALUE_SHORT_BUF_SIZE];
        unsigned emptied = 0;
        size_t size = 0, n_lines = 0, start = diags ? diags->n : 0;
        FILE *f;
        int r;

        lines = calloc(d->n_assignments + 2, sizeof(unsigned));
        if (!lines)
                return -ENOMEM;
        f = open_memstream(&text, &size);
        if (!f)
                return -ENOMEM;
        fputs("[" POLICY_SECTION "]\n", f);
        lines[n_lines++] = d->line;
        for (size_t i = 0; i < d->n_assignments; i++) {
                const Assignment *a = &d->assignments[i];
                PolicyKey k = policy_key_from_string(a->key);

                if ((int) k < 0) {
                        r = diagnostics_add(diags, file, a->line, a->key,
                                                   "Unknown key %s= in [" RULES_SECTION " %s], ignoring",
                                                   escape_value_short(a->key, shown, sizeof(shown)),
                                                   escape_value_short(ret->glob, shown_glob, sizeof(shown_glob)));
                        if (r < 0) {
                                fclose(f);
                                return r;
                        }
                        continue;
                }
                if (*a->value)
                        emptied &= ~POLICY_KEY_BIT(k);
                else
                        emptied |= POLICY_KEY_BIT(k);
                /* the blank keeps a value ending in a backslash from
                 * continuing on the next line; values are stripped anyway */
                fprintf(f, "%s=%s \n", a->key, a->value);
                lines[n_lines++] = a->line;
        }
        if (fclose(f) != 0)
                return -ENOMEM;

        r = policy_parse_texts((const char *const *) &text, &size, &file, 1, &ret->policy, &local);
        if (r < 0)
                return r;
        for (size_t i = 0; i < local.n; i++) {
                const Diagnostic *pd = &local.items[i];
                unsigned line = pd->line >= 1 && pd->line <= n_lines ? lines[pd->line - 1] : d->line;

                r = diagnostics_add(diags, file, line, pd->key, "%s", pd->message);
                if (r < 0)
                        return r;
        }

        diagnostics_sort_from(diags, start);

        /* "Key=" as the last word that counted (invalid ones do not) */
        for (PolicyKey k = 0; k < _POLICY_KEY_MAX; k++)
                if (!policy_has(&ret->policy, k) && (emptied & POLICY_KEY_BIT(k)))
                        ret->reset |= POLICY_KEY_BIT(k);
        return 0;
}

static int rules_parse_one(const char *path, RuleSet *rs, Diagnostics *diags) {
        _cleanup_free_ char *text = NULL;
        _cleanup_(rules_parser_done) RulesParser rp = { .file = path, .diags = diags };
        size_t size;
        int r;

        r = read_file_full(path, &text, &size);
        if (r == -ENOENT) /* not there (or gone since the directory was listed) */
                return 0;
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                rs->n_unreadable++;
                return diagnostics_add(diags, path, 0, NULL, "Cannot read file: %s; its [" RULES_SECTION "] rules are not in force",
                                              r == -EFBIG ? "larger than 1 MiB" : strerror(-r));
        }

        /* malformed lines are config.c's to report, in every file */
        r = ini_parse_sections(text, size, path, NULL, rules_section, rules_assignment, &rp, NULL);
        if (r < 0)
                return r;

        for (size_t i = 0; i < rp.n_drafts; i++) {
                GroupRule rule = {};

                /* an empty section sets nothing: no rule, no cgroups followed */
                if (!rp.drafts[i].glob || rp.drafts[i].n_assignments == 0)
                        continue;
                rule.glob = TAKE_PTR(rp.drafts[i].glob);
                rule.line = rp.drafts[i].line;
                rule.file = strdup(path);
                r = rule.file ? group_draft_to_rule(&rp.drafts[i], path, &rule, diags) : -ENOMEM;
                if (r >= 0)
                        r = ruleset_append(rs, &rule);
                if (r < 0) {
                        group_rule_done(&rule);
                        return r;
                }
        }
        return 0;
}

int rules_parse_files(const char *config_path, char *const *dropins, size_t n_dropins, RuleSet *ret,
                      Diagnostics *diags) {
        _cleanup_(ruleset_done) RuleSet rs = {};
        int r;

        if (config_path) {
                r = rules_parse_one(config_path, &rs, diags);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < n_dropins; i++) {
                r = rules_parse_one(dropins[i], &rs, diags);
                if (r < 0)
                        return r;
        }

        *ret = rs;
        rs = (RuleSet) {};
        return 0;
}

int rules_load(const char *config_path, const char *dropin_dir, RuleSet *ret, Diagnostics *diags) {
        _cleanup_strv_free_ char **dropins = NULL;
        size_t n = 0;
        int r;

        r = dropins_list(dropin_dir, &dropins, &n);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                r = diagnostics_add(diags, dropin_dir, 0, NULL,
                                           "Cannot read directory: %s; its [" RULES_SECTION "] rules are not in force",
                                           strerror(-r));
                if (r < 0)
                        return r;
        }
        r = rules_parse_files(config_path, dropins, n, ret, diags);
        if (r >= 0 && !dropins)
                ret->n_unreadable++;
        return r;
}

int rules_sources(const RuleSet *rs, const char *cgroup, unsigned keys, char ***ret) {
        _cleanup_free_ bool *gives = NULL;
        size_t n = 0;
        char **l;

        assert(rs);
        assert(cgroup);
        assert(ret);
        gives = calloc(rs->n ?: 1, sizeof(bool));
        if (!gives)
                return -ENOMEM;

        /* Per key, the last matching rule that assigns it or takes it out. */
        for (PolicyKey k = 0; k < _POLICY_KEY_MAX; k++) {
                size_t last = SIZE_MAX;
                if (!(keys & POLICY_KEY_BIT(k)))
                        continue;
                for (size_t i = 0; i < rs->n; i++)
                        if ((policy_has(&rs->rules[i].policy, k) || (rs->rules[i].reset & POLICY_KEY_BIT(k))) &&
                            group_rule_matches(&rs->rules[i], cgroup))
                                last = i;
                if (last != SIZE_MAX && policy_has(&rs->rules[last].policy, k))
                        gives[last] = true;
        }

        l = calloc(rs->n + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < rs->n; i++)
                if (gives[i] && asprintf(&l[n++], "%s:%u", rs->rules[i].file, rs->rules[i].line) < 0) {
                        l[n - 1] = NULL;
                        strv_free(l);
                        return -ENOMEM;
                }
        *ret = l;
        return 0;
}
