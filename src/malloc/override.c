/*
 * src/malloc/override.c: the glibc malloc family on top of carve_malloc (built only into
 * libcarve-malloc.so). Each entry is a direct call to carve's hidden cm_* aliases.
 *
 * glibc compatibility notes: memalign/valloc/pvalloc accept any alignment and round it up to a
 * power of two (as glibc does); free_sized and free_aligned_sized ignore their size and
 * alignment (carve finds both from the pointer); malloc_trim ignores pad; mallinfo2 fills arena,
 * uordblks, fordblks and hblkhd from carve_stats.
 */
#include "malloc/malloc_internal.h"

#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <unistd.h>

#include "os/os.h"

/* Not declared by every glibc's headers. */
CARVE_API void cfree(void *p);
CARVE_API void free_sized(void *p, size_t size);
CARVE_API void free_aligned_sized(void *p, size_t align, size_t size);
CARVE_API void *__libc_malloc(size_t size);
CARVE_API void __libc_free(void *p);
CARVE_API void *__libc_calloc(size_t n, size_t size);
CARVE_API void *__libc_realloc(void *p, size_t size);
CARVE_API void *__libc_memalign(size_t align, size_t size);
CARVE_API void *__libc_valloc(size_t size);
CARVE_API void *__libc_pvalloc(size_t size);
CARVE_API int __posix_memalign(void **out, size_t align, size_t size);

/* malloc and free are not defined here: the link makes them names of carve_malloc and
 * carve_free (--defsym in CMakeLists.txt), so a program's call lands in carve's fast path
 * without a wrapper's extra jump. */
CARVE_API void *calloc(size_t n, size_t size) { return cm_calloc(n, size); }
CARVE_API void *realloc(void *p, size_t size) { return cm_realloc(p, size); }
CARVE_API void *reallocarray(void *p, size_t n, size_t size) { return cm_reallocarray(p, n, size); }
CARVE_API void *aligned_alloc(size_t align, size_t size) { return cm_aligned_alloc(align, size); }
CARVE_API int posix_memalign(void **out, size_t align, size_t size)
{
    return cm_posix_memalign(out, align, size);
}
CARVE_API int __posix_memalign(void **out, size_t align, size_t size)
{
    return cm_posix_memalign(out, align, size);
}
CARVE_API size_t malloc_usable_size(void *p) { return cm_usable_size(p); }
CARVE_API void cfree(void *p) { cm_free(p); }
CARVE_API void free_sized(void *p, size_t size)
{
    (void)size;
    cm_free(p);
}
CARVE_API void free_aligned_sized(void *p, size_t align, size_t size)
{
    (void)align, (void)size;
    cm_free(p);
}

/* glibc's memalign: any alignment, rounded up to a power of two. */
CARVE_API void *memalign(size_t align, size_t size)
{
    if (align <= 16) return cm_malloc(size);
    if (!carve_is_pow2(align)) {
        if (align > ((size_t)1 << 62)) {
            errno = EINVAL;
            return NULL;
        }
        align = (size_t)1 << carve_log2_ceil(align);
    }
    return cm_aligned_alloc(align, size);
}
CARVE_API void *valloc(size_t size) { return cm_aligned_alloc(carve_os_page_size(), size); }
CARVE_API void *pvalloc(size_t size)
{
    size_t page = carve_os_page_size(), rounded;
    if (!carve_align_up_checked(size == 0 ? 1 : size, page, &rounded)) {
        errno = ENOMEM;
        return NULL;
    }
    return cm_aligned_alloc(page, rounded);
}

CARVE_API void *__libc_malloc(size_t size) { return cm_malloc(size); }
CARVE_API void __libc_free(void *p) { cm_free(p); }
CARVE_API void *__libc_calloc(size_t n, size_t size) { return cm_calloc(n, size); }
CARVE_API void *__libc_realloc(void *p, size_t size) { return cm_realloc(p, size); }
CARVE_API void *__libc_memalign(size_t align, size_t size) { return memalign(align, size); }
CARVE_API void *__libc_valloc(size_t size) { return valloc(size); }
CARVE_API void *__libc_pvalloc(size_t size) { return pvalloc(size); }

CARVE_API int malloc_trim(size_t pad)
{
    (void)pad;
    return carve_trim() ? 1 : 0;
}

CARVE_API struct mallinfo2 mallinfo2(void)
{
    carve_stats st;
    carve_stats_init(&st);
    carve_stats_get(&st);
    struct mallinfo2 mi = {0};
    mi.arena = st.capacity;
    mi.uordblks = st.used;
    mi.fordblks = st.free;
    mi.hblkhd = st.capacity;
    return mi;
}

CARVE_API void malloc_stats(void) { carve_stats_print(NULL, false); }
