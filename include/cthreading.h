/*
 * cthreading.h - Python's threading toolkit for C. The one header users
 * include; each area has its own header under cthreading/.
 */
#ifndef CTHREADING_H
#define CTHREADING_H

#include "cthreading/error.h"
#include "cthreading/version.h"
#include "cthreading/clock.h"
#include "cthreading/lock.h"
#include "cthreading/condition.h"
#include "cthreading/semaphore.h"
#include "cthreading/event.h"
#include "cthreading/barrier.h"
#include "cthreading/with.h"
#include "cthreading/thread.h"
#include "cthreading/timer.h"
#include "cthreading/local.h"
#include "cthreading/interrupt.h"
#include "cthreading/diag.h"
#include "cthreading/wait.h"
#include "cthreading/queue.h"
#include "cthreading/future.h"
#include "cthreading/executor.h"

#endif
