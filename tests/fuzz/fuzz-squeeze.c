/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target for squeeze records (emulate/squeeze.c), which memqosd
 * reads back from its state directory at start and in --restore-limits.
 *
 * Besides not crashing: a record that parses names a valid cgroup below
 * the root, and formatting it and parsing the text again gives the same
 * record. */
#include "basic/cgroup-path.h"
#include "basic/util.h"
#include "emulate/squeeze.h"
#include "fuzz-check.h"

static void check(bool ok, const char *what) {
        fuzz_check(ok, "fuzz-squeeze", what);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(squeeze_record_done) SqueezeRecord rec = {}, again = {};
        _cleanup_free_ char *text = NULL, *formatted = NULL;

        if (size > 16 * 1024)
                return 0;
        text = strndup((const char *) data, size);
        check(text, "strndup");
        if (squeeze_record_parse(text, &rec) < 0)
                return 0;

        check(rec.cgroup && cgroup_path_validate(rec.cgroup) == 0 && !streq(rec.cgroup, "/"),
              "a record names a valid cgroup below the root");
        check(squeeze_record_format(&rec, &formatted) == 0, "a parsed record formats");
        check(squeeze_record_parse(formatted, &again) == 0, "a formatted record parses");
        check(streq(again.cgroup, rec.cgroup) && again.limit == rec.limit && again.squeezed == rec.squeezed,
              "format and parse give the same record");
        return 0;
}
