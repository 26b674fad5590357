#ifndef CCOOPPROCESS_H
#define CCOOPPROCESS_H

#include <spawn.h>

/// glibc declares these only with _GNU_SOURCE, which Swift's Glibc module is not built with; the wrappers are
/// compiled with it (spawn_shims.c). Each returns 0 or an errno value, as the posix_spawn family does.

/// `posix_spawn_file_actions_addclosefrom_np` (glibc 2.34): the child closes every descriptor from `lowest` up
/// (with close_range, or by listing /proc/self/fd in the child where the kernel has no close_range). ENOSYS where
/// the C library has no such action (macOS: use POSIX_SPAWN_CLOEXEC_DEFAULT there).
int coop_spawn_file_actions_addclosefrom(posix_spawn_file_actions_t *actions, int lowest);

/// `posix_spawn_file_actions_addchdir_np` (glibc 2.29, macOS 10.15): the child changes to `path` before exec.
int coop_spawn_file_actions_addchdir(posix_spawn_file_actions_t *actions, const char *path);

/// A pipe whose two ends are close-on-exec from the start (`pipe2(O_CLOEXEC)`), so that no child spawned by
/// another thread meanwhile inherits them. Returns 0, or -1 with errno set.
int coop_pipe_cloexec(int fds[2]);

#endif
