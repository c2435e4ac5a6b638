/*
 * src/os/os.h: the only door to the operating system. Every mmap, munmap, madvise and
 * mprotect in carve goes through here, so that a test can make them fail.
 *
 * Errors are errno-style: a function that fails returns NULL (or -1) and leaves errno set
 * (ENOMEM for an injected failure). None of them allocate, print, or take a lock.
 * Thread safety: all are safe from any thread. carve_os_fail_after is for tests; it may be
 * called while other threads allocate (they then fail too).
 */
#ifndef CARVE_OS_H
#define CARVE_OS_H

#include <stdbool.h>
#include <stddef.h>

/* The system page size (cached after the first call). */
size_t carve_os_page_size(void);

/* bytes (rounded up to pages) of fresh, zeroed, read-write memory, aligned to align (a power of
 * two; 0 or anything up to the page size means page-aligned). NULL and errno on failure. */
void *carve_os_map(size_t bytes, size_t align);
/* bytes (rounded up to pages) of fresh, zeroed, read-write memory exactly at at (page-aligned),
 * only where nothing is mapped yet (MAP_FIXED_NOREPLACE: an existing mapping is never replaced):
 * how a mapping is extended in place. 0, or -1 and errno (EEXIST when the range is taken). */
int carve_os_map_at(void *at, size_t bytes);
/* Give back a mapping, or part of one, taken with carve_os_map or carve_os_map_at (ranges of
 * several adjacent ones at once too). 0, or -1 and errno. */
int carve_os_unmap(void *p, size_t bytes);
/* Return the pages' memory to the OS but keep the range mapped; it reads as zero afterwards.
 * p and bytes are page-aligned. 0, or -1 and errno. */
int carve_os_decommit(void *p, size_t bytes);
/* Fault in a page-aligned range for writing with one call instead of a fault per page
 * (MADV_POPULATE_WRITE, Linux 5.14). 0, or -1 and errno (EINVAL on older kernels). */
int carve_os_populate(void *p, size_t bytes);
/* Make a page-aligned range inaccessible (a guard page), or read-write again. 0 or -1. */
int carve_os_protect_none(void *p, size_t bytes);
int carve_os_protect_rw(void *p, size_t bytes);

/* Fault injection for tests: after n more successful carve_os_map calls, every further call
 * fails with ENOMEM, until carve_os_fail_after(-1) turns injection off. */
void carve_os_fail_after(long n);

/* How many carve_os_map calls have succeeded and how many bytes are mapped right now
 * (maps minus unmaps): for tests that check nothing leaks. */
size_t carve_os_mapped_bytes(void);

#endif /* CARVE_OS_H */
