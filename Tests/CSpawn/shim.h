#ifndef BREAKERD_CSPAWN_SHIM_H
#define BREAKERD_CSPAWN_SHIM_H
/* posix_spawn_file_actions_addclosefrom_np (glibc >= 2.34) is declared only under _GNU_SOURCE,
   which the Glibc module is not built with; this is glibc's own prototype. The tests' ChildProcess
   uses it to close every descriptor from 3 up in each child. Linux only. */
#include <spawn.h>

extern int posix_spawn_file_actions_addclosefrom_np(posix_spawn_file_actions_t *actions, int from);
#endif
