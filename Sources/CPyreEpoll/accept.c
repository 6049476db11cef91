#define _GNU_SOURCE
#include "CPyreEpoll.h"
#include <stddef.h>

int pyre_accept(int listener) {
    return accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
}
