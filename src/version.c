#include "common.h"
#include "cthreading/version.h"

int ct_version(void)
{
    return CT_VERSION;
}

const char *ct_version_string(void)
{
    return CT_VERSION_STRING;
}
