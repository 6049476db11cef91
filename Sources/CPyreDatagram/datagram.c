#define _GNU_SOURCE
#include "CPyreDatagram.h"
#include <stddef.h>

_Static_assert(sizeof(struct pyre_mmsghdr) == sizeof(struct mmsghdr), "mmsghdr layout");
_Static_assert(offsetof(struct pyre_mmsghdr, msg_len) == offsetof(struct mmsghdr, msg_len), "mmsghdr layout");

int pyre_recvmmsg(int fd, struct pyre_mmsghdr *messages, unsigned int count) {
    return recvmmsg(fd, (struct mmsghdr *)messages, count, MSG_WAITFORONE, NULL);
}

int pyre_sendmmsg(int fd, struct pyre_mmsghdr *messages, unsigned int count) {
    return sendmmsg(fd, (struct mmsghdr *)messages, count, 0);
}
