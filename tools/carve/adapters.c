/*
 * tools/carve/adapters.c: the allocators this carve was built with, in display order.
 * carve.cmake defines CARVE_LAB_HAVE_<X> for each allocator whose sources are in the tree.
 */
#include "lab.h"

#include <stdio.h>
#include <string.h>

extern const lab_adapter lab_adapter_libc;
#ifdef CARVE_LAB_HAVE_HEAP
extern const lab_adapter *const lab_heap_order_adapters[];
extern const lab_adapter lab_adapter_first, lab_adapter_next, lab_adapter_best, lab_adapter_worst,
    lab_adapter_segregated, lab_adapter_tlsf;
#endif
#ifdef CARVE_LAB_HAVE_BUDDY
extern const lab_adapter lab_adapter_buddy;
#endif
#ifdef CARVE_LAB_HAVE_SLAB
extern const lab_adapter lab_adapter_slab;
#endif
#ifdef CARVE_LAB_HAVE_MALLOC
extern const lab_adapter lab_adapter_malloc;
#endif

const lab_adapter *const lab_adapters[] = {
#ifdef CARVE_LAB_HAVE_HEAP
    &lab_adapter_first, &lab_adapter_next, &lab_adapter_best, &lab_adapter_worst,
    &lab_adapter_segregated, &lab_adapter_tlsf,
#endif
#ifdef CARVE_LAB_HAVE_BUDDY
    &lab_adapter_buddy,
#endif
#ifdef CARVE_LAB_HAVE_SLAB
    &lab_adapter_slab,
#endif
#ifdef CARVE_LAB_HAVE_MALLOC
    &lab_adapter_malloc,
#endif
    &lab_adapter_libc,
    NULL,
};

const lab_adapter *lab_find_adapter(const char *name)
{
    for (size_t i = 0; lab_adapters[i] != NULL; i++)
        if (strcmp(lab_adapters[i]->name, name) == 0) return lab_adapters[i];
#ifdef CARVE_LAB_HAVE_HEAP
    for (size_t i = 0; lab_heap_order_adapters[i] != NULL; i++)
        if (strcmp(lab_heap_order_adapters[i]->name, name) == 0) return lab_heap_order_adapters[i];
#endif
    return NULL;
}

static void list_names(char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; lab_adapters[i] != NULL && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? " " : "", lab_adapters[i]->name);
}

int lab_parse_alloc_list(const char *list, const lab_adapter **out, size_t max, char *err, size_t errlen)
{
    size_t n = 0;
    if (strcmp(list, "all") == 0) {
        for (size_t i = 0; lab_adapters[i] != NULL && n < max; i++) out[n++] = lab_adapters[i];
        return (int)n;
    }
    const char *p = list;
    while (*p != '\0') {
        const char *comma = strchr(p, ',');
        size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);
        char name[64];
        if (len == 0 || len >= sizeof name) {
            snprintf(err, errlen, "bad allocator list '%s'", list);
            return -1;
        }
        memcpy(name, p, len);
        name[len] = '\0';
        const lab_adapter *ad = lab_find_adapter(name);
        if (ad == NULL) {
            char names[256];
            list_names(names, sizeof names);
            snprintf(err, errlen, "unknown allocator '%s' (this carve has: %s%s)", name, names,
#ifdef CARVE_LAB_HAVE_HEAP
                     "; and first, next, best, worst with :lifo :fifo :size+ :size- for their list order"
#else
                     ""
#endif
            );
            return -1;
        }
        if (n < max) out[n++] = ad;
        p += len;
        if (*p == ',') p++;
    }
    if (n == 0) {
        snprintf(err, errlen, "empty allocator list");
        return -1;
    }
    return (int)n;
}
