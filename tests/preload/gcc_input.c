/* tests/preload/gcc_input.c: input for the gcc preload test and benchmark. Macros expand it into
 * two hundred functions with loops, switches, inlining and vectorizable code, so that cc1 at
 * -O2 spends its time allocating (GIMPLE, RTL, bitmaps, hash tables). Never run, only compiled. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct point { double x, y, z; };
struct node { struct node *next; uint64_t key; char name[24]; };

#define KERNEL(N)                                                                         \
    static inline uint64_t mix##N(uint64_t v)                                             \
    {                                                                                     \
        v ^= v >> (N % 31 + 1);                                                           \
        v *= 0x9e3779b97f4a7c15ull + N;                                                   \
        return v ^ (v >> 29);                                                             \
    }                                                                                     \
    double dot##N(const struct point *a, const struct point *b, size_t n)                 \
    {                                                                                     \
        double s = 0;                                                                     \
        for (size_t i = 0; i < n; i++) s += a[i].x * b[i].x + a[i].y * b[i].y * N;       \
        return s + a[0].z;                                                                \
    }                                                                                     \
    uint64_t walk##N(const struct node *list, uint64_t seed)                              \
    {                                                                                     \
        uint64_t h = seed;                                                                \
        for (; list != NULL; list = list->next) {                                         \
            switch ((list->key + N) % 7) {                                                \
            case 0: h += mix##N(list->key); break;                                        \
            case 1: h ^= (uint64_t)strlen(list->name) << (N % 13); break;                 \
            case 2: h = h * 31 + (uint64_t)list->name[N % 24]; break;                     \
            case 3: h -= mix##N(h) >> 3; break;                                           \
            case 4: if (memcmp(list->name, "carve", 5) == 0) h++; break;                  \
            case 5: h = (h << 7) | (h >> 57); break;                                      \
            default: h += N; break;                                                       \
            }                                                                             \
        }                                                                                 \
        return h;                                                                         \
    }                                                                                     \
    void scale##N(float *restrict out, const float *restrict in, size_t n, float k)      \
    {                                                                                     \
        for (size_t i = 0; i < n; i++) out[i] = in[i] * k + (float)N * in[n - 1 - i];     \
    }                                                                                     \
    int search##N(const int *sorted, int n, int key)                                      \
    {                                                                                     \
        int lo = 0, hi = n - 1;                                                           \
        while (lo <= hi) {                                                                \
            int mid = lo + (hi - lo) / 2;                                                 \
            if (sorted[mid] == key + N) return mid;                                       \
            if (sorted[mid] < key + N) lo = mid + 1; else hi = mid - 1;                   \
        }                                                                                 \
        return -1;                                                                        \
    }

#define TEN(B) KERNEL(B##0) KERNEL(B##1) KERNEL(B##2) KERNEL(B##3) KERNEL(B##4) \
               KERNEL(B##5) KERNEL(B##6) KERNEL(B##7) KERNEL(B##8) KERNEL(B##9)
TEN(1) TEN(2) TEN(3) TEN(4)

uint64_t everything(const struct node *list, uint64_t seed);
uint64_t everything(const struct node *list, uint64_t seed)
{
    return walk10(list, seed) + walk25(list, seed) + walk33(list, seed) + walk49(list, seed);
}
