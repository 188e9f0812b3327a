/* avtruth common: status names and the caller-owned error record. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "avtruth/common.h"

const char *avt_status_name(int status)
{
    switch (status) {
#define AVT_X_NAME(name, value, msg) \
    case (value): return "AVT_" #name;
        AVT_STATUS_MAP(AVT_X_NAME)
#undef AVT_X_NAME
    }
    return "AVT_UNKNOWN";
}

const char *avt_status_message(int status)
{
    switch (status) {
#define AVT_X_MSG(name, value, msg) \
    case (value): return msg;
        AVT_STATUS_MAP(AVT_X_MSG)
#undef AVT_X_MSG
    }
    return "unknown status";
}

int avt_err(avt_error *err, int code, const char *fmt, ...)
{
    if (!err) return code;
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return code;
}

int avt_err_prefix(avt_error *err, const char *fmt, ...)
{
    if (!err) return AVT_INVAL;
    char prefix[AVT_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    char old[AVT_ERROR_MAX];
    memcpy(old, err->msg, sizeof old);
    /* prefix + ": " + old, truncated to the buffer (truncation is intended) */
    size_t n = 0, cap = sizeof err->msg - 1;
    for (const char *parts[3] = {prefix, ": ", old}, **p = parts; p < parts + 3; p++)
        for (const char *c = *p; *c && n < cap; c++) err->msg[n++] = *c;
    err->msg[n] = '\0';
    return err->code;
}

int avt_err_first(const avt_error *errs, size_t n, avt_error *err)
{
    for (size_t i = 0; i < n; i++)
        if (errs[i].code != AVT_OK) {
            if (err) *err = errs[i];
            return errs[i].code;
        }
    return AVT_OK;
}
