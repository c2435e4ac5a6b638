/*
 * tests/preload/probe.c: proves which allocator a preloaded process really runs on.
 *
 * Preloaded after the allocator under test (LD_PRELOAD="<allocator> <probe>"), so it changes
 * nothing in the symbol lookup order. Its constructor asks the dynamic linker where malloc,
 * free, calloc and realloc resolve in the global scope (the same answer every PLT call of the
 * process gets) and appends one line per process to the file named by $CARVE_PROBE_OUT:
 *
 *     <executable> malloc=<library path> free=<path> calloc=<path> realloc=<path>
 *
 * Children inherit LD_PRELOAD, so a process tree (gcc -> cc1 -> as, git -> git) writes one line
 * per exec. One write(2) with O_APPEND per line keeps lines whole when processes run at once.
 * The probe never fails the process: without $CARVE_PROBE_OUT it is inert.
 *
 * Trap: an executable that takes a function's address (cc1 does, for free) holds a canonical PLT
 * entry, so dlsym(RTLD_DEFAULT) answers with the executable itself. The PLT jumps to the first
 * shared object in search order that defines the symbol; the probe then looks that object up in
 * the link map, which is the search order.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <link.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct containment {
    uintptr_t address;
    int inside;
};

/* dl_iterate_phdr visits the executable first: is the address in one of its segments? */
static int in_executable(struct dl_phdr_info *object, size_t size, void *arg)
{
    (void)size;
    struct containment *c = arg;
    for (int i = 0; i < object->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &object->dlpi_phdr[i];
        uintptr_t start = (uintptr_t)object->dlpi_addr + (uintptr_t)ph->p_vaddr;
        if (ph->p_type == PT_LOAD && c->address - start < (uintptr_t)ph->p_memsz) c->inside = 1;
    }
    return 1; /* stop after the executable */
}

/* The first shared object in search order that itself defines symbol (not a dependency). */
static const char *first_shared_definition(const char *symbol)
{
    void *self = dlopen(NULL, RTLD_LAZY);
    struct link_map *map = NULL;
    if (self == NULL || dlinfo(self, RTLD_DI_LINKMAP, &map) != 0) return "?";
    for (; map != NULL; map = map->l_next) {
        if (map->l_name == NULL || map->l_name[0] == '\0') continue; /* executable, vdso */
        void *object = dlopen(map->l_name, RTLD_LAZY | RTLD_NOLOAD);
        if (object == NULL) continue;
        void *address = dlsym(object, symbol);
        Dl_info info;
        int defined_here = address != NULL && dladdr(address, &info) != 0 &&
                           info.dli_fname != NULL && strcmp(info.dli_fname, map->l_name) == 0;
        dlclose(object);
        if (defined_here) return map->l_name;
    }
    return "?";
}

static const char *defining_object(const char *symbol)
{
    void *address = dlsym(RTLD_DEFAULT, symbol);
    Dl_info info;
    if (address == NULL || dladdr(address, &info) == 0 || info.dli_fname == NULL) return "?";
    struct containment c = {(uintptr_t)address, 0};
    dl_iterate_phdr(in_executable, &c);
    return c.inside ? first_shared_definition(symbol) : info.dli_fname;
}

__attribute__((constructor)) static void probe_report(void)
{
    const char *out = getenv("CARVE_PROBE_OUT");
    if (out == NULL || *out == '\0') return;
    char exe[512];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = '\0';
    char line[4096];
    int len = snprintf(line, sizeof line, "%s malloc=%s free=%s calloc=%s realloc=%s\n", exe,
                       defining_object("malloc"), defining_object("free"),
                       defining_object("calloc"), defining_object("realloc"));
    if (len <= 0 || (size_t)len >= sizeof line) return;
    int fd = open(out, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return;
    ssize_t written = write(fd, line, (size_t)len);
    (void)written;
    close(fd);
}
