#include "config.h"
#include "runtime/runtime.h"
