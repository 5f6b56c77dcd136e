/*
 * cthreading/version.h - the version this header belongs to, and the
 * version of the library actually loaded.
 *
 * Before 1.0 the soname is libcthreading.so.0 and a minor release may
 * change the API; see the README for what the soname promises.
 */
#ifndef CTHREADING_VERSION_H
#define CTHREADING_VERSION_H

#include "cthreading/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CT_VERSION_MAJOR 0
#define CT_VERSION_MINOR 2
#define CT_VERSION_PATCH 0
#define CT_VERSION_STRING "0.2.0"

/* The three parts in one number, comparable with <: 0.2.0 is 200. */
#define CT_VERSION_NUMBER(major, minor, patch) ((major) * 10000 + (minor) * 100 + (patch))
#define CT_VERSION CT_VERSION_NUMBER(CT_VERSION_MAJOR, CT_VERSION_MINOR, CT_VERSION_PATCH)

/* ct_version - CT_VERSION of the library loaded at run time (which may be
 * newer than the header a program was compiled with). */
CT_API int ct_version(void);

/* ct_version_string - "MAJOR.MINOR.PATCH" of the loaded library. */
CT_API const char *ct_version_string(void);

#ifdef __cplusplus
}
#endif
#endif
