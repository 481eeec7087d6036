/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <search.h>
#include <string.h>

#include "basic/cgroup-path.h"
#include "basic/util.h"
#include "daemon/unit.h"

static int unit_compare(const void *a, const void *b) {
        return strcmp(((const Unit *) a)->name, ((const Unit *) b)->name);
}

Unit *unit_table_get(const UnitTable *t, const char *name) {
        assert(t);
        assert(name);

        Unit key = { .name = (char *) name };
        Unit **found = tfind(&key, &t->root, unit_compare);
        return found ? *found : NULL;
}

int unit_table_add(UnitTable *t, Unit *u) {
        assert(t);
        assert(u);
        assert(u->name);

        if (!tsearch(u, &t->root, unit_compare))
                return -ENOMEM;
        t->n++;
        return 0;
}

void unit_table_remove(UnitTable *t, Unit *u) {
        assert(t);
        assert(u);

        if (tdelete(u, &t->root, unit_compare))
                t->n--;
}

void unit_table_clear(UnitTable *t, void (*free_unit)(void *u)) {
        assert(t);
        assert(free_unit);

        tdestroy(t->root, free_unit);
        *t = (UnitTable) {};
}

typedef struct WalkContext {
        void (*f)(Unit *u, void *userdata);
        void *userdata;
} WalkContext;

static void walk_action(const void *node, VISIT which, void *closure) {
        WalkContext *c = closure;
        if (which == postorder || which == leaf)
                c->f(*(Unit *const *) node, c->userdata);
}

void unit_table_foreach(const UnitTable *t, void (*f)(Unit *u, void *userdata), void *userdata) {
        assert(t);
        assert(f);

        WalkContext c = { f, userdata };
        twalk_r(t->root, walk_action, &c);
}

typedef struct FindContext {
        uint64_t generation;
        const char *cgroup;
        bool systemd_only;
        Unit *found;
        size_t len; /* of found's cgroup, for the deepest */
} FindContext;

static void find_stale(Unit *u, void *userdata) {
        FindContext *c = userdata;
        if (!c->found && u->kind == UNIT_KIND_SYSTEMD && u->generation != c->generation)
                c->found = u;
}

Unit *unit_table_find_stale(const UnitTable *t, uint64_t generation) {
        FindContext c = { .generation = generation };
        unit_table_foreach(t, find_stale, &c);
        return c.found;
}

static void find_by_cgroup(Unit *u, void *userdata) {
        FindContext *c = userdata;
        if (!c->found && streq_ptr(u->control_group, c->cgroup) &&
            (!c->systemd_only || u->kind == UNIT_KIND_SYSTEMD))
                c->found = u;
}

Unit *unit_table_get_by_cgroup(const UnitTable *t, const char *cgroup, bool systemd_only) {
        FindContext c = { .cgroup = cgroup, .systemd_only = systemd_only };
        unit_table_foreach(t, find_by_cgroup, &c);
        return c.found;
}

static void find_deepest(Unit *u, void *userdata) {
        FindContext *c = userdata;
        size_t l;

        if (!u->control_group || !cgroup_contains(u->control_group, c->cgroup))
                return;
        l = strlen(u->control_group);
        if (!c->found || l > c->len) {
                c->found = u;
                c->len = l;
        }
}

Unit *unit_table_deepest_for_cgroup(const UnitTable *t, const char *cgroup) {
        FindContext c = { .cgroup = cgroup };

        if (!cgroup)
                return NULL;
        unit_table_foreach(t, find_deepest, &c);
        return c.found;
}

static void find_prioritized_child(Unit *u, void *userdata) {
        FindContext *c = userdata;
        if (!c->found && u->control_group && policy_has(&u->policy, POLICY_MEMORY_PRIORITY) &&
            cgroup_is_direct_child(c->cgroup, u->control_group))
                c->found = u;
}

Unit *unit_table_prioritized_child(const UnitTable *t, const char *cgroup) {
        FindContext c = { .cgroup = cgroup };
        unit_table_foreach(t, find_prioritized_child, &c);
        return c.found;
}

void unit_stats_add_event(UnitStats *s, uint64_t realtime_usec, const char *kind, const char *message) {
        assert(s);
        assert(kind);
        char *copy = strdup(message ?: "");
        if (!copy)
                return;
        UnitEvent *slot = &s->events[s->next];
        free(slot->message);
        *slot = (UnitEvent) { .realtime_usec = realtime_usec, .kind = kind, .message = copy };
        s->next = (s->next + 1) % UNIT_EVENTS_KEPT;
        if (s->n_events < UNIT_EVENTS_KEPT)
                s->n_events++;
}

const UnitEvent *unit_stats_event(const UnitStats *s, size_t i) {
        assert(s);
        if (i >= s->n_events)
                return NULL;
        return &s->events[(s->next + UNIT_EVENTS_KEPT - 1 - i) % UNIT_EVENTS_KEPT];
}

void unit_stats_done(UnitStats *s) {
        assert(s);
        for (size_t i = 0; i < UNIT_EVENTS_KEPT; i++)
                s->events[i].message = mfree(s->events[i].message);
        s->n_events = s->next = 0;
}
