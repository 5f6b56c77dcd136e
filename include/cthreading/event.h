/* cthreading/event.h - Event. */
#ifndef CTHREADING_EVENT_H
#define CTHREADING_EVENT_H

#include "cthreading/lock.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ct_event {
    uint32_t opaque_[2];
} ct_event;
#define CT_EVENT_INIT {{0, 0}}

CT_API int ct_event_init(ct_event *ev, unsigned flags);
CT_API int ct_event_destroy(ct_event *ev);
CT_API int ct_event_is_set(const ct_event *ev);
CT_API int ct_event_set(ct_event *ev);
CT_API int ct_event_clear(ct_event *ev);
CT_API int ct_event_wait(ct_event *ev, double timeout);

#ifdef __cplusplus
}
#endif
#endif
