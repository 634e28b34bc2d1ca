/* Mounts inside the container's mount namespace (runs in the child). */
#ifndef HUTCH_RUNTIME_MOUNTS_H
#define HUTCH_RUNTIME_MOUNTS_H

#include "runtime/runtime.h"

#endif
