/* carve/carve.h: every carve allocator in one include. */
#ifndef CARVE_CARVE_H
#define CARVE_CARVE_H

#include "carve/common.h"
#include "carve/heap.h"
#include "carve/pool.h"
#include "carve/slab.h"
#include "carve/buddy.h"
#include "carve/segment.h"
#include "carve/malloc.h"

#endif /* CARVE_CARVE_H */
