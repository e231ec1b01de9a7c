/* hostid.h - the host application's ids: 1 to 128 characters of
 * [A-Za-z0-9._:-] (API.md). Workspace, member, event, device and
 * conversation ids all follow this rule. */
#ifndef HERALD_CORE_HOSTID_H
#define HERALD_CORE_HOSTID_H

#include <stdbool.h>
#include <string.h>

#define HOSTID_MAX 128

static inline bool hostid_valid(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++) {
        char c = s[n];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  (c >= '0' && c <= '9') || c == '.' || c == '_' || c == ':' ||
                  c == '-';
        if (!ok || n >= HOSTID_MAX)
            return false;
    }
    return n > 0;
}

#endif
