/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A pressure client memqos did not write: libsystemd's own
 * sd_event_add_memory_pressure() (systemd 254 and later), which reads
 * $MEMORY_PRESSURE_WATCH and $MEMORY_PRESSURE_WRITE as systemd's daemons do.
 * memqos's scenario 60 runs it as a service with the shipped drop-in on
 * Debian 13 (built in the Debian 13 chroot of tests/deb/build, see
 * tests/vm/README.md).
 *
 *   sd-pressure-client [COUNT]
 *
 * Prints "ready" once the source is in place, then "pressure N" at each
 * callback, and exits 0 after COUNT callbacks (default: never). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-event.h>

static unsigned calls, wanted;

static int on_pressure(sd_event_source *s, void *userdata) {
        (void) userdata;
        printf("pressure %u\n", ++calls);
        fflush(stdout);
        if (wanted > 0 && calls >= wanted)
                return sd_event_exit(sd_event_source_get_event(s), 0);
        return 0;
}

int main(int argc, char **argv) {
        sd_event *e = NULL;
        int r;

        wanted = argc > 1 ? (unsigned) strtoul(argv[1], NULL, 10) : 0;
        r = sd_event_default(&e);
        if (r >= 0)
                r = sd_event_add_memory_pressure(e, NULL, on_pressure, NULL);
        if (r < 0) {
                fprintf(stderr, "sd_event_add_memory_pressure: %s\n", strerror(-r));
                return 1;
        }
        printf("ready\n");
        fflush(stdout);
        r = sd_event_loop(e);
        sd_event_unref(e);
        return r < 0 ? 1 : 0;
}
