/* storage/: images and containers on disk. */
#ifndef HUTCH_STORAGE_H
#define HUTCH_STORAGE_H

#include "lib/error.h"

#endif
