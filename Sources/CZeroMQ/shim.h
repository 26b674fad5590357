#ifndef CZEROMQ_SHIM_H
#define CZEROMQ_SHIM_H
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <zmq.h>

/// Names the calling thread (the reactor's), so operators see it in `top -H` and /proc; Linux keeps 15 bytes.
static inline int coop_zmq_name_thread(const char *name) {
#if defined(__linux__)
    return pthread_setname_np(pthread_self(), name);
#elif defined(__APPLE__)
    return pthread_setname_np(name);
#else
    (void)name;
    return 0;
#endif
}
#endif
