/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What every fuzz target shares: a broken promise aborts, which libFuzzer
 * reports like a crash, with the promise named on stderr. */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static inline void fuzz_check(bool ok, const char *target, const char *what) {
        if (!ok) {
                fprintf(stderr, "%s: broken promise: %s\n", target, what);
                abort();
        }
}
