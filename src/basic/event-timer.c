/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <time.h>

#include "basic/event-timer.h"

uint64_t event_timer_accuracy_usec(uint64_t interval_usec) {
        uint64_t a = interval_usec / 10;

        if (a < EVENT_TIMER_FINE_USEC)
                return EVENT_TIMER_FINE_USEC;
        return a > EVENT_TIMER_COARSE_USEC ? EVENT_TIMER_COARSE_USEC : a;
}

int event_timer_arm(sd_event *event, sd_event_source **source, uint64_t usec, uint64_t accuracy_usec,
                    sd_event_time_handler_t handler, void *userdata, const char *description) {
        int r;

        assert(event);
        assert(source);
        assert(handler);
        assert(accuracy_usec > 0); /* 0 would be sd-event's 250 ms */

        if (!*source) {
                r = sd_event_add_time_relative(event, source, CLOCK_MONOTONIC, usec, accuracy_usec, handler,
                                               userdata);
                if (r < 0)
                        return r;
                if (description)
                        (void) sd_event_source_set_description(*source, description);
                return 0;
        }
        r = sd_event_source_set_time_relative(*source, usec);
        if (r < 0)
                return r;
        r = sd_event_source_set_time_accuracy(*source, accuracy_usec);
        if (r < 0)
                return r;
        return sd_event_source_set_enabled(*source, SD_EVENT_ONESHOT);
}
