/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "daemon/rlimit.h"

#include <assert.h>
#include <fcntl.h>

#include "basic/util.h"
#include "cgroup/memcg.h"

/* fs.nr_open's default, when /proc cannot tell. */
#define NR_OPEN_DEFAULT (1024 * 1024)

rlim_t rlimit_nofile_target(const struct rlimit *rl, rlim_t nr_open) {
        rlim_t target;

        assert(rl);
        target = rl->rlim_max < nr_open ? rl->rlim_max : nr_open;
        return target > rl->rlim_cur ? target : rl->rlim_cur;
}

static rlim_t read_nr_open(void) {
        uint64_t v;

        if (memcg_read_u64(AT_FDCWD, "/proc/sys/fs/nr_open", &v) < 0 || v == 0)
                return NR_OPEN_DEFAULT;
        return (rlim_t) v;
}

int rlimit_nofile_bump(rlim_t *ret) {
        struct rlimit rl;

        if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
                return -errno;
        rl.rlim_cur = rlimit_nofile_target(&rl, read_nr_open());
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
                return -errno;
        if (ret)
                *ret = rl.rlim_cur;
        return 0;
}
