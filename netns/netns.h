/* netns/: networking for the container's network namespace. */
#ifndef HUTCH_NETNS_H
#define HUTCH_NETNS_H

/* Brings up "lo" in the current network namespace (runs in the child);
 * returns -errno. */
int netns_loopback_up(void);

#endif
