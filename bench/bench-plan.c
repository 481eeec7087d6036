/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The cost of one priority-kill decision and one reclaim plan of memqosd's
 * emulation (src/emulate/plan.c) on synthetic 5,000-cgroup subtrees: the
 * pure decisions, without the reads of cgroup files that memqosd does for
 * each cgroup the lazy walk reads (bench/kill-decision-host measures those).
 *
 *   bench-plan [--cgroups N] [--runs R]
 *
 * Prints, per shape, the median over R runs of the wall and CPU time and the
 * user instructions (perf_event_open; "-" where not allowed) of each decision,
 * and how many cgroups below the root the lazy walk read (one read = one
 * cgroup whose usage, processes or memory.stat memqosd would read). The
 * tree is made from the array as the decision reads it (emu_tree_new_array),
 * so the times include that. */
#include <linux/perf_event.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bench-util.h"
#include "emulate/plan.h"

#define M (UINT64_C(1024) * 1024)
#define RUNS_MAX 1000

typedef struct Shape {
        const char *name;
        EmuNode *nodes;
        size_t n;
} Shape;

static size_t shape_add(Shape *s, size_t parent, unsigned priority, uint64_t usage, uint64_t file, size_t procs) {
        s->nodes[s->n] = (EmuNode) {
                .parent = parent,
                .priority = priority,
                .usage = usage,
                .file = file,
                .anon = usage - file,
                .n_procs = procs,
        };
        return s->n++;
}

/* root / low (1) / e0000.. (empty, no rule), batch / job; high (10) / app. */
static void shape_wide(Shape *s, size_t total) {
        size_t low, high, batch;
        s->name = "wide: all but 5 empty siblings in the low branch";
        shape_add(s, EMU_NO_PARENT, 0, 900 * M, 300 * M, 0);
        low = shape_add(s, 0, 1, 400 * M, 100 * M, 0);
        high = shape_add(s, 0, 10, 500 * M, 200 * M, 0);
        shape_add(s, high, 0, 500 * M, 200 * M, 1);
        while (s->n < total - 2)
                shape_add(s, low, 0, 0, 0, 0);
        batch = shape_add(s, low, 1, 400 * M, 100 * M, 0);
        shape_add(s, batch, 0, 400 * M, 100 * M, 1);
}

/* root / besteffort (0), burstable (5), guaranteed (10) / pods / 4
 * containers each with a process, as on a Kubernetes node. */
static void shape_pods(Shape *s, size_t total) {
        size_t classes[3], pods_per_class = (total - 4) / 3 / 5;
        s->name = "pods: 3 QoS classes x pods x 4 containers";
        shape_add(s, EMU_NO_PARENT, 0, 900 * M, 300 * M, 0);
        for (unsigned c = 0; c < 3; c++)
                classes[c] = shape_add(s, 0, c * 5, 300 * M, 100 * M, 0);
        for (unsigned c = 0; c < 3; c++)
                for (size_t p = 0; p < pods_per_class; p++) {
                        size_t pod = shape_add(s, classes[c], 0, 4 * M, M, 0);
                        for (unsigned k = 0; k < 4; k++)
                                shape_add(s, pod, k, M + p, M / 4, 1);
                }
        while (s->n < total)
                shape_add(s, classes[0], 0, 0, 0, 0);
}

static int counter_open(void) {
        struct perf_event_attr a = {
                .type = PERF_TYPE_HARDWARE,
                .size = sizeof(a),
                .config = PERF_COUNT_HW_INSTRUCTIONS,
                .disabled = 1,
                .exclude_kernel = 1,
                .exclude_hv = 1,
        };
        return (int) syscall(SYS_perf_event_open, &a, 0, -1, -1, 0);
}

/* This thread's CPU time: the machine may be shared, the wall time then
 * counts others' work too. */
static double cpu_us(void) {
        struct timespec ts;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
        return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int compare_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return x < y ? -1 : x > y;
}

typedef struct Result {
        double usec[RUNS_MAX], cpu_usec[RUNS_MAX], instructions[RUNS_MAX];
        size_t reads;
        int answer;
} Result;

/* One decision on a fresh tree (a decision reads its subtree anew). */
static void decide(Shape *s, bool kill, int counter, size_t run, Result *res) {
        EmuTree *t = NULL;
        EmuReclaimStep steps[64];
        uint64_t ins = 0, planned = 0;

        if (counter >= 0) {
                ioctl(counter, PERF_EVENT_IOC_RESET, 0);
                ioctl(counter, PERF_EVENT_IOC_ENABLE, 0);
        }
        double start = now_ms(), cpu_start = cpu_us();
        if (emu_tree_new_array(s->nodes, s->n, NULL, 0, &t) < 0)
                abort();
        res->answer = kill ? emu_tree_kill_pick(t)
                           : emu_tree_reclaim_plan(t, 64 * M, false, steps, 64, &planned);
        if (kill && res->answer >= 0)
                res->answer = (int) emu_tree_array_index(t, (size_t) res->answer);
        res->reads = emu_tree_size(t) - 1; /* the root is read before any decision */
        emu_tree_free(t);
        res->usec[run] = (now_ms() - start) * 1000;
        res->cpu_usec[run] = cpu_us() - cpu_start;
        if (counter >= 0) {
                ioctl(counter, PERF_EVENT_IOC_DISABLE, 0);
                if (read(counter, &ins, sizeof(ins)) != sizeof(ins))
                        ins = 0;
        }
        res->instructions[run] = (double) ins;
}

static double median(double *v, size_t n) {
        qsort(v, n, sizeof(double), compare_double);
        return v[n / 2];
}

static void report(const char *what, Result *r, size_t runs, int counter) {
        char ins[32] = "-";
        if (counter >= 0)
                snprintf(ins, sizeof(ins), "%.0f", median(r->instructions, runs));
        printf("  %-12s %8.1f us wall %8.1f us CPU %10s instructions  %5zu cgroups read  (answer %d)\n", what,
               median(r->usec, runs), median(r->cpu_usec, runs), ins, r->reads, r->answer);
}

int main(int argc, char **argv) {
        unsigned long cgroups = 5000, runs = 101;
        for (int i = 1; i + 1 < argc; i += 2) {
                unsigned long *v = !strcmp(argv[i], "--cgroups") ? &cgroups : !strcmp(argv[i], "--runs") ? &runs : NULL;
                if (!v || !parse_ulong(argv[i + 1], v) || *v < 16 || *v > (v == &runs ? RUNS_MAX : 1000000)) {
                        fprintf(stderr, "usage: bench-plan [--cgroups N (16..1000000)] [--runs R (16..%d)]\n", RUNS_MAX);
                        return 2;
                }
        }
        int counter = counter_open();
        void (*shapes[])(Shape *, size_t) = { shape_wide, shape_pods };
        static Result kill, reclaim;

        printf("bench-plan: %lu cgroups, median of %lu runs, at most %u cgroups per decision\n", cgroups, runs,
               (unsigned) EMU_TREE_NODES_MAX);
        for (size_t k = 0; k < sizeof(shapes) / sizeof(shapes[0]); k++) {
                Shape s = { .nodes = calloc(cgroups, sizeof(EmuNode)) };
                if (!s.nodes)
                        abort();
                shapes[k](&s, cgroups);
                for (size_t r = 0; r < runs; r++) {
                        decide(&s, true, counter, r, &kill);
                        decide(&s, false, counter, r, &reclaim);
                }
                printf("%s (%zu cgroups)\n", s.name, s.n);
                report("kill", &kill, runs, counter);
                report("reclaim plan", &reclaim, runs, counter);
                free(s.nodes);
        }
        return 0;
}
