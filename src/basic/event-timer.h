/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Timers of the sd-event loop, armed with an accuracy chosen on purpose.
 *
 * sd-event lets a timer fire up to its accuracy late, to merge wake-ups, and
 * takes an accuracy of 0 for its default of 250 ms (sd_event_add_time(3)):
 * a 20 ms timer armed with 0 fires anywhere up to 270 ms. So no timer here is
 * armed with 0: those that pace work ask for a tenth of their interval
 * (event_timer_accuracy_usec()), those whose lateness costs nothing (retries,
 * back-offs, summaries, reports) for EVENT_TIMER_COARSE_USEC, saying why. */

#include <stdint.h>
#include <systemd/sd-event.h>

/* sd-event's own default: fine where a quarter second late costs nothing,
 * and it merges the wake-ups. */
#define EVENT_TIMER_COARSE_USEC (250 * 1000ULL)
/* The finest accuracy asked for. */
#define EVENT_TIMER_FINE_USEC (1000ULL)

/* How late a timer that paces work every interval_usec may fire: a tenth of
 * the interval, but no finer than EVENT_TIMER_FINE_USEC and no coarser than
 * EVENT_TIMER_COARSE_USEC. Never 0. */
uint64_t event_timer_accuracy_usec(uint64_t interval_usec);

/* Arms *source (CLOCK_MONOTONIC) to fire once, usec from now, at most
 * accuracy_usec (> 0) late: adds it, named description, when *source is
 * NULL; else moves it, sets its accuracy and enables it again. Negative
 * errno when it cannot be added (*source stays NULL) or moved. */
int event_timer_arm(sd_event *event, sd_event_source **source, uint64_t usec, uint64_t accuracy_usec,
                    sd_event_time_handler_t handler, void *userdata, const char *description);
