#ifndef CPYRE_DATAGRAM_H
#define CPYRE_DATAGRAM_H

#include <sys/socket.h>

// recvmmsg and sendmmsg are GNU extensions that Swift's Glibc module does not import.
// The struct has glibc's `struct mmsghdr` layout (checked in datagram.c).
struct pyre_mmsghdr {
    struct msghdr msg_hdr;
    unsigned int msg_len;
};

// Blocks for the first datagram, then takes what is already queued, up to `count`.
int pyre_recvmmsg(int fd, struct pyre_mmsghdr *messages, unsigned int count);

int pyre_sendmmsg(int fd, struct pyre_mmsghdr *messages, unsigned int count);

#endif
