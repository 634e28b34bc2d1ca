#include "config.h"
#include "runtime/mounts.h"
