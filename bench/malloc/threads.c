/*
 * bench/malloc/threads.c: the multi-threaded workloads (the machine has 2 cores; 2-4 threads).
 *
 *   xthread  two producers allocate batches of 64 small objects and pass them through a bounded
 *            queue to two consumers, which check and free them: every free is a remote free,
 *            the pattern of pipelines and thread pools.
 *   larson   the larson server benchmark: four lineages of threads, each owning 2000 slots of
 *            8..1000 bytes that it keeps replacing at random. After a fixed number of operations
 *            a thread starts its successor, hands it the slots and exits, so blocks are freed by
 *            threads that did not allocate them, after their allocator has exited. The main
 *            thread fills the slots first, so the first frees are remote too.
 *   scratch  cache-scratch (Hoard): the main thread allocates one 8-byte object per thread, side
 *            by side; each thread frees its object, then repeatedly allocates an 8-byte object,
 *            writes it many times and frees it. An allocator that hands a thread memory on a
 *            cache line another thread writes (for instance the object the main thread gave it)
 *            makes the cores fight over that line: false sharing, seen as time.
 */
#include "mbench.h"

#include <pthread.h>
#include <stdlib.h>

/* ---- xthread ----------------------------------------------------------------------------- */

enum { XT_PRODUCERS = 2, XT_CONSUMERS = 2, XT_BATCH = 64, XT_QUEUE = 32 };

struct xt_batch {
    void *block[XT_BATCH];
    size_t size[XT_BATCH];
};

static struct {
    pthread_mutex_t lock;
    pthread_cond_t not_full, not_empty;
    struct xt_batch *ring[XT_QUEUE];
    size_t head, count;
    uint64_t batches_per_producer;
} xt = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER};

static void xt_push(struct xt_batch *batch)
{
    pthread_mutex_lock(&xt.lock);
    while (xt.count == XT_QUEUE) pthread_cond_wait(&xt.not_full, &xt.lock);
    xt.ring[(xt.head + xt.count++) % XT_QUEUE] = batch;
    pthread_cond_signal(&xt.not_empty);
    pthread_mutex_unlock(&xt.lock);
}

static struct xt_batch *xt_pop(void)
{
    pthread_mutex_lock(&xt.lock);
    while (xt.count == 0) pthread_cond_wait(&xt.not_empty, &xt.lock);
    struct xt_batch *batch = xt.ring[xt.head];
    xt.head = (xt.head + 1) % XT_QUEUE;
    xt.count--;
    pthread_cond_signal(&xt.not_full);
    pthread_mutex_unlock(&xt.lock);
    return batch;
}

static void *xt_producer(void *arg)
{
    mbench_rng rng = {(uint64_t)(uintptr_t)arg};
    for (uint64_t n = 0; n < xt.batches_per_producer; n++) {
        struct xt_batch *batch = malloc(sizeof *batch);
        if (batch == NULL) abort();
        for (size_t i = 0; i < XT_BATCH; i++) {
            batch->size[i] = mbench_small_size(&rng);
            batch->block[i] = malloc(batch->size[i]);
            if (batch->block[i] == NULL) abort();
            mbench_mark(batch->block[i], batch->size[i]);
        }
        xt_push(batch);
    }
    return NULL;
}

static void *xt_consumer(void *arg)
{
    int *bad = arg;
    for (struct xt_batch *batch; (batch = xt_pop()) != NULL;) {
        for (size_t i = 0; i < XT_BATCH; i++) {
            *bad |= !mbench_marked(batch->block[i], batch->size[i]);
            free(batch->block[i]);
        }
        free(batch);
    }
    return NULL;
}

int mbench_xthread(void)
{
    pthread_t producer[XT_PRODUCERS], consumer[XT_CONSUMERS];
    int bad[XT_CONSUMERS] = {0};
    xt.batches_per_producer = mbench_scaled(25000);
    for (size_t i = 0; i < XT_CONSUMERS; i++)
        if (pthread_create(&consumer[i], NULL, xt_consumer, &bad[i]) != 0) return 1;
    for (size_t i = 0; i < XT_PRODUCERS; i++)
        if (pthread_create(&producer[i], NULL, xt_producer, (void *)(uintptr_t)(i + 1)) != 0) return 1;
    for (size_t i = 0; i < XT_PRODUCERS; i++) pthread_join(producer[i], NULL);
    for (size_t i = 0; i < XT_CONSUMERS; i++) xt_push(NULL); /* one end mark per consumer */
    int any_bad = 0;
    for (size_t i = 0; i < XT_CONSUMERS; i++) {
        pthread_join(consumer[i], NULL);
        any_bad |= bad[i];
    }
    return any_bad;
}

/* ---- larson ------------------------------------------------------------------------------ */

enum { LA_LINEAGES = 4, LA_SLOTS = 2000, LA_GENERATIONS = 40, LA_MIN = 8, LA_MAX = 1000 };

struct la_lineage {
    void *slot[LA_SLOTS];
    size_t size[LA_SLOTS];
    mbench_rng rng;
    uint64_t ops_per_generation;
    int generation, bad, failed;
};

static struct {
    pthread_mutex_t lock;
    pthread_cond_t finished;
    int running;
} la = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};

static size_t la_size(mbench_rng *rng) { return LA_MIN + (size_t)mbench_below(rng, LA_MAX - LA_MIN + 1); }

static void *la_thread(void *arg)
{
    struct la_lineage *l = arg;
    for (uint64_t op = 0; op < l->ops_per_generation; op++) {
        size_t i = (size_t)mbench_below(&l->rng, LA_SLOTS);
        l->bad |= !mbench_marked(l->slot[i], l->size[i]);
        free(l->slot[i]);
        l->size[i] = la_size(&l->rng);
        l->slot[i] = malloc(l->size[i]);
        if (l->slot[i] == NULL) abort();
        mbench_mark(l->slot[i], l->size[i]);
    }
    pthread_t successor;
    int handed_on = ++l->generation < LA_GENERATIONS;
    if (handed_on && pthread_create(&successor, NULL, la_thread, l) == 0) {
        pthread_detach(successor);
        return NULL;
    }
    pthread_mutex_lock(&la.lock);
    l->failed = handed_on; /* true only if the successor could not start */
    la.running--;
    pthread_cond_signal(&la.finished);
    pthread_mutex_unlock(&la.lock);
    return NULL;
}

int mbench_larson(void)
{
    static struct la_lineage lineage[LA_LINEAGES];
    for (size_t t = 0; t < LA_LINEAGES; t++) {
        struct la_lineage *l = &lineage[t];
        l->rng.state = 1000 + t;
        l->ops_per_generation = mbench_scaled(30000);
        for (size_t i = 0; i < LA_SLOTS; i++) {
            l->size[i] = la_size(&l->rng);
            l->slot[i] = malloc(l->size[i]);
            if (l->slot[i] == NULL) return 1;
            mbench_mark(l->slot[i], l->size[i]);
        }
    }
    la.running = LA_LINEAGES;
    for (size_t t = 0; t < LA_LINEAGES; t++) {
        pthread_t first;
        if (pthread_create(&first, NULL, la_thread, &lineage[t]) != 0) return 1;
        pthread_detach(first);
    }
    pthread_mutex_lock(&la.lock);
    while (la.running > 0) pthread_cond_wait(&la.finished, &la.lock);
    pthread_mutex_unlock(&la.lock);
    int bad = 0;
    for (size_t t = 0; t < LA_LINEAGES; t++) {
        struct la_lineage *l = &lineage[t];
        bad |= l->bad | l->failed;
        for (size_t i = 0; i < LA_SLOTS; i++) {
            bad |= !mbench_marked(l->slot[i], l->size[i]);
            free(l->slot[i]);
        }
    }
    return bad;
}

/* ---- scratch ----------------------------------------------------------------------------- */

enum { CS_THREADS = 2, CS_OBJECT = 8 };

struct cs_arg {
    char *initial;
    uint64_t iterations, repetitions;
    int bad;
};

static void *cs_thread(void *arg)
{
    struct cs_arg *a = arg;
    free(a->initial);
    for (uint64_t it = 0; it < a->iterations; it++) {
        volatile char *object = malloc(CS_OBJECT);
        if (object == NULL) abort();
        for (size_t k = 0; k < CS_OBJECT; k++) object[k] = 0;
        for (uint64_t r = 0; r < a->repetitions; r++)
            for (size_t k = 0; k < CS_OBJECT; k++) object[k] = (char)(object[k] + 1);
        a->bad |= object[0] != object[CS_OBJECT - 1];
        free((void *)object);
    }
    return NULL;
}

int mbench_scratch(void)
{
    struct cs_arg arg[CS_THREADS];
    pthread_t thread[CS_THREADS];
    for (size_t t = 0; t < CS_THREADS; t++) {
        arg[t] = (struct cs_arg){malloc(CS_OBJECT), mbench_scaled(1000), 20000, 0};
        if (arg[t].initial == NULL) return 1;
    }
    for (size_t t = 0; t < CS_THREADS; t++)
        if (pthread_create(&thread[t], NULL, cs_thread, &arg[t]) != 0) return 1;
    int bad = 0;
    for (size_t t = 0; t < CS_THREADS; t++) {
        pthread_join(thread[t], NULL);
        bad |= arg[t].bad;
    }
    return bad;
}
