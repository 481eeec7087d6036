/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The trust checks of memqosd's state directory (src/basic/state-dir.c): the pure
 * check, and state_dir_open() on temporary directories of the user running
 * the test (another owner is simulated by passing another euid). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/state-dir.h"
#include "basic/util.h"

static void test_only_our_own_unwritable_dir_is_trusted(void **state) {
        assert_int_equal(state_dir_check(0, S_IFDIR | 0755, 0, false), STATE_DIR_OK);
        assert_int_equal(state_dir_check(0, S_IFDIR | 0700, 0, false), STATE_DIR_OK);
        assert_int_equal(state_dir_check(65534, S_IFDIR | 0755, 0, false), STATE_DIR_FOREIGN_OWNER);
        assert_int_equal(state_dir_check(0, S_IFDIR | 0775, 0, false), STATE_DIR_OTHERS_WRITE);
        assert_int_equal(state_dir_check(0, S_IFDIR | 0757, 0, false), STATE_DIR_OTHERS_WRITE);
        /* A sticky /tmp is no state directory... */
        assert_int_equal(state_dir_check(0, S_IFDIR | 01777, 0, false), STATE_DIR_OTHERS_WRITE);
        assert_int_equal(state_dir_check(0, S_IFREG | 0644, 0, false), STATE_DIR_NOT_DIRECTORY);
        /* A daemon running as another user owns its own directory. */
        assert_int_equal(state_dir_check(1000, S_IFDIR | 0755, 1000, false), STATE_DIR_OK);
        assert_int_equal(state_dir_check(0, S_IFDIR | 0755, 1000, false), STATE_DIR_FOREIGN_OWNER);
}

static void test_ancestors_belong_to_root_or_are_sticky(void **state) {
        assert_int_equal(state_dir_check(0, S_IFDIR | 0755, 0, true), STATE_DIR_OK);
        /* ...but one may lie below it: nobody else can move what is ours there. */
        assert_int_equal(state_dir_check(0, S_IFDIR | 01777, 0, true), STATE_DIR_OK);
        assert_int_equal(state_dir_check(0, S_IFDIR | 0777, 0, true), STATE_DIR_OTHERS_WRITE);
        assert_int_equal(state_dir_check(65534, S_IFDIR | 0755, 0, true), STATE_DIR_FOREIGN_OWNER);
        assert_int_equal(state_dir_check(65534, S_IFDIR | 01777, 0, true), STATE_DIR_FOREIGN_OWNER);
        assert_int_equal(state_dir_check(0, S_IFDIR | 0755, 1000, true), STATE_DIR_OK);
}

typedef struct Tmp {
        char dir[64];
} Tmp;

static void tmp_make(Tmp *t) {
        snprintf(t->dir, sizeof(t->dir), "/tmp/memqos-test-state-dir.XXXXXX");
        assert_non_null(mkdtemp(t->dir));
}

static void tmp_done(Tmp *t) {
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", t->dir);
        assert_int_equal(system(cmd), 0);
}

static void test_open_makes_missing_dirs(void **state) {
        StateDirProblem problem;
        char path[128];
        struct stat st;
        Tmp t;

        tmp_make(&t);
        snprintf(path, sizeof(path), "%s/a/b/state", t.dir);
        int fd = state_dir_open(path, geteuid(), &problem, NULL);
        assert_true(fd >= 0);
        assert_int_equal(stat(path, &st), 0);
        assert_true(S_ISDIR(st.st_mode));
        assert_int_equal(st.st_mode & 022, 0);

        int sub = state_dir_open_sub(fd, "units", geteuid(), &problem);
        assert_true(sub >= 0);
        assert_int_equal(state_dir_open_sub(fd, "../x", geteuid(), &problem), -EINVAL);
        close(sub);
        close(fd);

        /* Opened again as it is. */
        fd = state_dir_open(path, geteuid(), &problem, NULL);
        assert_true(fd >= 0);
        close(fd);
        tmp_done(&t);
}

static void test_open_refuses_what_others_could_change(void **state) {
        _cleanup_free_ char *component = NULL, *c2 = NULL, *c3 = NULL;
        StateDirProblem problem;
        char path[128], link[160], inner[160];
        Tmp t;

        tmp_make(&t);
        snprintf(path, sizeof(path), "%s/state", t.dir);
        assert_int_equal(mkdir(path, 0755), 0);

        /* Owned by someone else (here: we pretend to be another user). */
        assert_int_equal(state_dir_open(path, geteuid() + 1, &problem, &component), -EPERM);
        assert_int_equal(problem, STATE_DIR_FOREIGN_OWNER);
        assert_non_null(component);

        /* Writable by others. */
        assert_int_equal(chmod(path, 0777), 0);
        assert_int_equal(state_dir_open(path, geteuid(), &problem, &c2), -EPERM);
        assert_int_equal(problem, STATE_DIR_OTHERS_WRITE);
        assert_string_equal(c2, path);
        assert_int_equal(chmod(path, 0755), 0);

        /* A subdirectory writable by others. */
        int fd = state_dir_open(path, geteuid(), &problem, NULL);
        assert_true(fd >= 0);
        snprintf(inner, sizeof(inner), "%s/groups", path);
        assert_int_equal(mkdir(inner, 0755), 0);
        assert_int_equal(chmod(inner, 0775), 0);
        assert_int_equal(state_dir_open_sub(fd, "groups", geteuid(), &problem), -EPERM);
        assert_int_equal(problem, STATE_DIR_OTHERS_WRITE);

        /* A symlink, at the end or on the way. */
        snprintf(link, sizeof(link), "%s/link", t.dir);
        assert_int_equal(symlink(path, link), 0);
        assert_int_equal(state_dir_open(link, geteuid(), &problem, &c3), -ELOOP);
        assert_string_equal(c3, link);
        snprintf(link, sizeof(link), "%s/link/groups", t.dir);
        assert_int_equal(state_dir_open(link, geteuid(), &problem, NULL), -ELOOP);
        snprintf(inner, sizeof(inner), "%s/squeeze", path);
        assert_int_equal(symlink("/etc", inner), 0);
        assert_int_equal(state_dir_open_sub(fd, "squeeze", geteuid(), &problem), -ELOOP);
        close(fd);

        /* Relative, "..", "/". */
        assert_int_equal(state_dir_open("run/memqos", geteuid(), &problem, NULL), -EINVAL);
        snprintf(link, sizeof(link), "%s/../x", t.dir);
        assert_int_equal(state_dir_open(link, geteuid(), &problem, NULL), -EINVAL);
        assert_int_equal(state_dir_open("/", geteuid(), &problem, NULL), -EINVAL);
        tmp_done(&t);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_only_our_own_unwritable_dir_is_trusted),
                cmocka_unit_test(test_ancestors_belong_to_root_or_are_sticky),
                cmocka_unit_test(test_open_makes_missing_dirs),
                cmocka_unit_test(test_open_refuses_what_others_could_change),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
