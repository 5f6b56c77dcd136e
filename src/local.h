/* Internal: what the thread layer needs of thread-local data. */
#ifndef CT_SRC_LOCAL_H
#define CT_SRC_LOCAL_H

#include "common.h"

/* Run and clear the calling thread's ct_local values (their destroy
 * callbacks, with no lock held), as the thread ends. Safe to call more
 * than once. */
CT__HIDDEN void ct__local_thread_exit(void);

#endif
