/*
 * error.c - status strings, the error struct and the optional log callback.
 * The library reports; it never prints or exits.
 */
#include "internal.h"

#include <string.h>

const char *hogmf_strerror(hogmf_status status)
{
    switch (status) {
    case HOGMF_OK: return "success";
    case HOGMF_ERR_IO: return "input/output error";
    case HOGMF_ERR_PARSE: return "malformed input";
    case HOGMF_ERR_NOMEM: return "out of memory";
    case HOGMF_ERR_INVALID: return "invalid argument";
    case HOGMF_ERR_FORMAT: return "corrupt or unsupported model file";
    case HOGMF_ERR_DIVERGED: return "training diverged";
    case HOGMF_ERR_EMPTY: return "no ratings";
    case HOGMF_ERR_STOPPED: return "training stopped by request";
    }
    return "unknown status";
}

hogmf_status hogmf__fail(hogmf_error *err, hogmf_status status, uint64_t line, const char *fmt,
                         ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->status = status;
        err->line = line;
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return status;
}

void hogmf__log(const hogmf_params *params, int level, const char *fmt, ...)
{
    if (!params || !params->log)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    params->log(params->ctx, level, msg);
}
