/* netcheck.h - whether an address is on the public internet. Web Push
 * endpoints come from members' browsers: Herald must not be made to POST
 * to its own network (loopback, private ranges, link-local, metadata
 * services), whatever a name resolves to at the moment it connects. */
#ifndef HERALD_DELIVER_NETCHECK_H
#define HERALD_DELIVER_NETCHECK_H

#include <stdbool.h>
#include <sys/socket.h>

bool net_address_public(const struct sockaddr *sa);
/* The same for a literal IPv4 or IPv6 text ("10.0.0.1", "[::1]" or "::1");
 * false for anything that is not an address literal. */
bool net_literal_private(const char *host);

#endif
