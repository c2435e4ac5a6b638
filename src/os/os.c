/*
 * src/os/os.c: mmap/munmap/madvise/mprotect for carve, with fault injection (see os.h).
 *
 * Aligned mappings first try the aligned slot just below the previous aligned mapping
 * (MAP_FIXED_NOREPLACE, which never replaces a mapping): one system call, where over-mapping
 * by align - page and trimming the head and the tail takes three, and every munmap makes the
 * kernel (and, in a virtual machine, the hypervisor) flush page-table state. Mappings grow
 * downwards as the kernel's own top-down placement does. When the slot is taken, they
 * over-map and trim, which wastes no address space once trimmed. carve_os_map_at maps at one
 * exact address, never over an existing mapping, to extend a mapping in place.
 */
#include "os/os.h"
#include "internal.h"

#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

static size_t page_size_cache;
static long fail_countdown = -1;      /* < 0: injection off */
static size_t mapped_bytes;           /* maps minus unmaps, relaxed atomics */
static uintptr_t map_hint;            /* the start of the last aligned mapping, relaxed */

size_t carve_os_page_size(void)
{
    size_t ps = __atomic_load_n(&page_size_cache, __ATOMIC_RELAXED);
    if (CARVE_UNLIKELY(ps == 0)) {
        long v = sysconf(_SC_PAGESIZE);
        ps = v > 0 ? (size_t)v : 4096u;
        __atomic_store_n(&page_size_cache, ps, __ATOMIC_RELAXED);
    }
    return ps;
}

void carve_os_fail_after(long n) { __atomic_store_n(&fail_countdown, n, __ATOMIC_SEQ_CST); }

size_t carve_os_mapped_bytes(void) { return __atomic_load_n(&mapped_bytes, __ATOMIC_RELAXED); }

/* True when this call must fail because of carve_os_fail_after. */
static bool injected_failure(void)
{
    long n = __atomic_load_n(&fail_countdown, __ATOMIC_RELAXED);
    while (n >= 0) {
        if (n == 0) return true;
        if (__atomic_compare_exchange_n(&fail_countdown, &n, n - 1, false, __ATOMIC_RELAXED,
                                        __ATOMIC_RELAXED))
            return false;
    }
    return false;
}

void *carve_os_map(size_t bytes, size_t align)
{
    size_t page = carve_os_page_size();
    if (align < page) align = page;
    size_t len, extra = align - page, total;
    if (bytes == 0 || !carve_is_pow2(align) || !carve_align_up_checked(bytes, page, &len) ||
        carve_add_overflow(len, extra, &total)) {
        errno = bytes == 0 || !carve_is_pow2(align) ? EINVAL : ENOMEM;
        return NULL;
    }
    if (injected_failure()) {
        errno = ENOMEM;
        return NULL;
    }
    uintptr_t hint = __atomic_load_n(&map_hint, __ATOMIC_RELAXED);
    if (extra != 0 && hint > len + align) {
        uintptr_t at = (hint - len) & ~(uintptr_t)(align - 1);
        void *p = mmap((void *)at, len, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
        if (p == (void *)at) {
            __atomic_store_n(&map_hint, at, __ATOMIC_RELAXED);
            __atomic_add_fetch(&mapped_bytes, len, __ATOMIC_RELAXED);
            return p;
        }
        if (p != MAP_FAILED) munmap(p, len); /* a kernel that took the address as a hint only */
    }
    void *raw = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) return NULL;
    uintptr_t start = (uintptr_t)raw, aligned = carve_align_up_ptr(start, align);
    size_t head = aligned - start, tail = extra - head;
    if (head != 0) munmap(raw, head);
    if (tail != 0) munmap((void *)(aligned + len), tail);
    if (extra != 0) __atomic_store_n(&map_hint, aligned, __ATOMIC_RELAXED);
    __atomic_add_fetch(&mapped_bytes, len, __ATOMIC_RELAXED);
    return (void *)aligned;
}

int carve_os_map_at(void *at, size_t bytes)
{
    size_t len;
    if (bytes == 0 || !carve_align_up_checked(bytes, carve_os_page_size(), &len)) {
        errno = bytes == 0 ? EINVAL : ENOMEM;
        return -1;
    }
    if (injected_failure()) {
        errno = ENOMEM;
        return -1;
    }
    void *p = mmap(at, len, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (p == MAP_FAILED) return -1;
    if (p != at) { /* a kernel without MAP_FIXED_NOREPLACE took the address as a hint */
        munmap(p, len);
        errno = EEXIST;
        return -1;
    }
    /* the next aligned mapping goes below this one, as below any other */
    uintptr_t hint = __atomic_load_n(&map_hint, __ATOMIC_RELAXED);
    if (hint == 0 || (uintptr_t)at < hint) __atomic_store_n(&map_hint, (uintptr_t)at, __ATOMIC_RELAXED);
    __atomic_add_fetch(&mapped_bytes, len, __ATOMIC_RELAXED);
    return 0;
}

int carve_os_unmap(void *p, size_t bytes)
{
    size_t len = carve_align_up(bytes, carve_os_page_size());
    if (munmap(p, len) != 0) return -1;
    __atomic_sub_fetch(&mapped_bytes, len, __ATOMIC_RELAXED);
    return 0;
}

int carve_os_decommit(void *p, size_t bytes) { return madvise(p, bytes, MADV_DONTNEED); }

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#endif
int carve_os_populate(void *p, size_t bytes) { return madvise(p, bytes, MADV_POPULATE_WRITE); }

int carve_os_protect_none(void *p, size_t bytes) { return mprotect(p, bytes, PROT_NONE); }

int carve_os_protect_rw(void *p, size_t bytes) { return mprotect(p, bytes, PROT_READ | PROT_WRITE); }
