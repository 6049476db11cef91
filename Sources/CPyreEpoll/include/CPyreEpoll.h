#ifndef CPYRE_EPOLL_H
#define CPYRE_EPOLL_H

// epoll and eventfd, which Swift's Glibc module does not import, for the entry points' relay loops.
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

// accept4 is a GNU extension: a non-blocking, close-on-exec connection, or -1 with errno.
int pyre_accept(int listener);

#endif
