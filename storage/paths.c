#include "config.h"

#include "storage/storage.h"
