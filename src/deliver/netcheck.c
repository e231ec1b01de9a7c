/* netcheck.c - public and private addresses (see netcheck.h). */
#include "deliver/netcheck.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

static bool v4_public(uint32_t a) /* host order */
{
    uint8_t b0 = (uint8_t)(a >> 24), b1 = (uint8_t)(a >> 16);
    if (b0 == 0 || b0 == 10 || b0 == 127 || b0 >= 224)  /* this, private, loopback, multicast+ */
        return false;
    if (b0 == 100 && (b1 & 0xC0) == 64)                  /* 100.64/10 shared (CGNAT) */
        return false;
    if (b0 == 169 && b1 == 254)                          /* link-local, cloud metadata */
        return false;
    if (b0 == 172 && (b1 & 0xF0) == 16)                  /* 172.16/12 */
        return false;
    if (b0 == 192 && b1 == 168)                          /* 192.168/16 */
        return false;
    if (b0 == 192 && b1 == 0 && (uint8_t)(a >> 8) == 0)  /* 192.0.0/24 protocol assignments */
        return false;
    if (b0 == 198 && (b1 & 0xFE) == 18)                  /* 198.18/15 benchmarking */
        return false;
    return true;
}

static bool v6_public(const struct in6_addr *a)
{
    const uint8_t *b = a->s6_addr;
    static const uint8_t zero[16];
    if (memcmp(b, zero, 15) == 0 && (b[15] == 0 || b[15] == 1)) /* :: and ::1 */
        return false;
    if (IN6_IS_ADDR_V4MAPPED(a) || IN6_IS_ADDR_V4COMPAT(a)) {
        uint32_t v4 = (uint32_t)b[12] << 24 | (uint32_t)b[13] << 16 | (uint32_t)b[14] << 8 | b[15];
        return v4_public(v4);
    }
    if ((b[0] & 0xFE) == 0xFC)              /* fc00::/7 unique local */
        return false;
    if (b[0] == 0xFE && (b[1] & 0xC0) == 0x80) /* fe80::/10 link-local */
        return false;
    if (b[0] == 0xFF)                        /* multicast */
        return false;
    if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8) /* documentation */
        return false;
    if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b) /* NAT64: what's behind */
        return v4_public((uint32_t)b[12] << 24 | (uint32_t)b[13] << 16 |
                         (uint32_t)b[14] << 8 | b[15]);
    return true;
}

bool net_address_public(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return v4_public(ntohl(((const struct sockaddr_in *)(const void *)sa)->sin_addr.s_addr));
    if (sa->sa_family == AF_INET6)
        return v6_public(&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr);
    return false;
}

bool net_literal_private(const char *host)
{
    char text[64];
    size_t n = strlen(host);
    if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
        host++;
        n -= 2;
    }
    if (n >= sizeof text)
        return false;
    memcpy(text, host, n);
    text[n] = '\0';
    struct in_addr v4;
    struct in6_addr v6;
    if (inet_pton(AF_INET, text, &v4) == 1)
        return !v4_public(ntohl(v4.s_addr));
    if (inet_pton(AF_INET6, text, &v6) == 1)
        return !v6_public(&v6);
    return false;
}
