/* The shared part of every compiled model: status strings, the thread pool,
 * and the external-weights file reader. Compiled freestanding by `shufflec
 * compile` for the target (it sees only compiler-provided headers), so the few
 * libc functions it needs are declared here; threads, mutexes and condition
 * variables come from the Halide runtime linked beside it. */
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "shufflec_runtime.h"

/* From the Halide runtime (HalideRuntime.h; declared here to stay freestanding). */
struct halide_mutex {
    uintptr_t _private[1];
};
struct halide_cond {
    uintptr_t _private[1];
};
struct halide_thread;
typedef int (*halide_task_t)(void *user_context, int task_number, uint8_t *closure);
typedef int (*halide_do_par_for_t)(void *, halide_task_t, int, int, uint8_t *);
extern halide_do_par_for_t halide_set_custom_do_par_for(halide_do_par_for_t do_par_for);
extern struct halide_thread *halide_spawn_thread(void (*f)(void *), void *closure);
extern void halide_mutex_lock(struct halide_mutex *mutex);
extern void halide_mutex_unlock(struct halide_mutex *mutex);
extern void halide_cond_broadcast(struct halide_cond *cond);
extern void halide_cond_wait(struct halide_cond *cond, struct halide_mutex *mutex);
extern int halide_host_cpu_count(void);
typedef void (*halide_error_handler_t)(void *, const char *);
extern halide_error_handler_t halide_set_error_handler(halide_error_handler_t handler);
extern void halide_print(void *user_context, const char *message);

extern void *fopen(const char *path, const char *mode);
extern size_t fread(void *dst, size_t size, size_t count, void *file);
extern int ferror(void *file);
extern int fclose(void *file);
extern void *malloc(size_t bytes);
extern char *getenv(const char *name);
extern void free(void *p);

const char *shufflec_status_string(int status) {
    switch (status) {
    case SHUFFLEC_OK: return "success";
    case SHUFFLEC_ERROR_NULL_ARGUMENT: return "a pointer argument is NULL";
    case SHUFFLEC_ERROR_BAD_ARGUMENT: return "an argument is out of range";
    case SHUFFLEC_ERROR_SHAPE_MISMATCH: return "a buffer's type, rank, extents or strides do not match the model";
    case SHUFFLEC_ERROR_WEIGHTS_NOT_LOADED: return "the model's external weights are not loaded";
    case SHUFFLEC_ERROR_WEIGHTS_FILE: return "the weights file cannot be opened or read";
    case SHUFFLEC_ERROR_WEIGHTS_CORRUPT: return "the weights file is corrupt or belongs to another model";
    case SHUFFLEC_ERROR_OUT_OF_MEMORY: return "out of memory";
    case SHUFFLEC_ERROR_PIPELINE: return "the compiled pipeline reported an error";
    default: return "unknown shufflec status code";
    }
}

/* ---- The thread pool -------------------------------------------------------
 *
 * A model run is a few dozen parallel loops of 20-200 microseconds each. Halide's
 * own pool lets idle workers sleep on a condition variable after a brief spin,
 * so each loop pays a wake-up about as long as the loop itself (measured: a
 * second core sped a 1x g3 run up by under 15%). This pool keeps its workers
 * spinning for a while after each loop, so consecutive loops start at once, and
 * only then lets them sleep. Installed as Halide's do_par_for by every model run.
 *
 * One loop runs at a time: a loop started while another is in flight (a nested
 * loop, or a second app thread running a model) runs serially on its caller. */

enum { kMaxThreads = 64, kSpinsBeforeSleep = 20000 };

/* Tasks are split into one contiguous share per thread (the caller's is share
 * 0, worker w's is share w). A thread runs its own share first, then helps with
 * the others'. Consecutive loops of a model split their rows alike, so a thread
 * mostly reads rows it wrote itself, from its own core's cache; with tasks
 * handed out first-come, rows wander between cores from loop to loop (measured:
 * every unit of 0.5x g3 ran slower on two threads than on one). */
typedef struct {
    halide_task_t f;
    void *user_context;
    uint8_t *closure;
    int min, size, shares;
    atomic_int next[kMaxThreads]; /* next task of each share */
    int end[kMaxThreads];         /* one past each share's last task */
    atomic_int remaining;         /* tasks not finished */
    atomic_int error;
} shufflec_job;

static struct {
    struct halide_mutex mutex;
    struct halide_cond wake;
    atomic_int generation;          /* bumped for every published job */
    _Atomic(shufflec_job *) job;    /* the job in flight, or NULL */
    atomic_int users;               /* workers holding the job pointer */
    atomic_int busy;                /* a loop is in flight */
    atomic_int sleeping;
    atomic_int threads;             /* wanted, caller included */
    int workers;                    /* worker threads started (under mutex) */
    atomic_int installed;
} shufflec_pool;

static void shufflec_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
    __asm__ __volatile__("yield");
#endif
}

/* Runs the tasks of share `own`, then what is left of the others. */
static void shufflec_work(shufflec_job *job, int own) {
    for (int k = 0; k < job->shares; k++) {
        int share = (own + k) % job->shares, i;
        while ((i = atomic_fetch_add(&job->next[share], 1)) < job->end[share]) {
            int result = job->f(job->user_context, job->min + i, job->closure);
            if (result != 0) atomic_store(&job->error, result);
            atomic_fetch_sub(&job->remaining, 1);
        }
    }
}

static void shufflec_worker(void *arg) {
    int index = (int)(intptr_t)arg; /* workers are 1, 2, ...; the caller is 0 */
    int seen = atomic_load(&shufflec_pool.generation);
    for (;;) {
        int spins = 0, now;
        while ((now = atomic_load(&shufflec_pool.generation)) == seen || index >= atomic_load(&shufflec_pool.threads)) {
            if (now != seen) seen = now; /* not wanted for this job */
            if (++spins < kSpinsBeforeSleep) {
                shufflec_relax();
                continue;
            }
            halide_mutex_lock(&shufflec_pool.mutex);
            atomic_fetch_add(&shufflec_pool.sleeping, 1);
            while (atomic_load(&shufflec_pool.generation) == seen) halide_cond_wait(&shufflec_pool.wake, &shufflec_pool.mutex);
            atomic_fetch_sub(&shufflec_pool.sleeping, 1);
            halide_mutex_unlock(&shufflec_pool.mutex);
            spins = 0;
        }
        seen = now;
        atomic_fetch_add(&shufflec_pool.users, 1);
        shufflec_job *job = atomic_load(&shufflec_pool.job);
        if (job && index < job->shares) shufflec_work(job, index);
        atomic_fetch_sub(&shufflec_pool.users, 1);
    }
}

static int shufflec_par_for(void *user_context, halide_task_t f, int min, int size, uint8_t *closure) {
    int threads = atomic_load(&shufflec_pool.threads);
    int expected = 0;
    if (size <= 0) return 0;
    if (threads <= 1 || size == 1 || !atomic_compare_exchange_strong(&shufflec_pool.busy, &expected, 1)) {
        for (int i = 0; i < size; i++) {
            int result = f(user_context, min + i, closure);
            if (result != 0) return result;
        }
        return 0;
    }
    if (shufflec_pool.workers < threads - 1) {
        halide_mutex_lock(&shufflec_pool.mutex);
        while (shufflec_pool.workers < threads - 1) {
            shufflec_pool.workers++;
            halide_spawn_thread(shufflec_worker, (void *)(intptr_t)shufflec_pool.workers);
        }
        halide_mutex_unlock(&shufflec_pool.mutex);
    }
    shufflec_job job;
    job.f = f, job.user_context = user_context, job.closure = closure, job.min = min, job.size = size;
    job.shares = threads < size ? threads : size;
    if (job.shares > kMaxThreads) job.shares = kMaxThreads;
    for (int t = 0; t < job.shares; t++) {
        atomic_init(&job.next[t], (int)((long long)size * t / job.shares));
        job.end[t] = (int)((long long)size * (t + 1) / job.shares);
    }
    atomic_init(&job.remaining, size);
    atomic_init(&job.error, 0);
    atomic_store(&shufflec_pool.job, &job);
    if (atomic_load(&shufflec_pool.sleeping) > 0) {
        halide_mutex_lock(&shufflec_pool.mutex);
        atomic_fetch_add(&shufflec_pool.generation, 1);
        halide_cond_broadcast(&shufflec_pool.wake);
        halide_mutex_unlock(&shufflec_pool.mutex);
    } else {
        atomic_fetch_add(&shufflec_pool.generation, 1);
    }
    shufflec_work(&job, 0);
    while (atomic_load(&job.remaining) > 0) shufflec_relax();
    /* No worker may touch the job (on this stack) once we return. */
    atomic_store(&shufflec_pool.job, (shufflec_job *)0);
    while (atomic_load(&shufflec_pool.users) > 0) shufflec_relax();
    atomic_store(&shufflec_pool.busy, 0);
    return atomic_load(&job.error);
}

/* $HL_NUM_THREADS if it is a positive number, else the cores; at most
 * kMaxThreads (a job has one share per thread). */
static int shufflec_default_threads(void) {
    const char *env = getenv("HL_NUM_THREADS");
    int n = 0;
    if (env) {
        for (; *env >= '0' && *env <= '9'; env++) n = n < 1000 ? n * 10 + (*env - '0') : n;
        if (*env) n = 0; /* not a plain number: ignored */
    }
    if (n < 1) n = halide_host_cpu_count();
    return n < 1 ? 1 : n > kMaxThreads ? kMaxThreads : n;
}

/* Called at the start of every model run (cheap after the first time). */
/* Halide's default error handler aborts the process. A pipeline that fails
 * (an allocation, a broken internal invariant) must instead return its error:
 * the entry points turn it into SHUFFLEC_ERROR_PIPELINE. The message still
 * goes to stderr, the one diagnostic a library without a log has. */
static void shufflec_halide_error(void *user_context, const char *message) {
    halide_print(user_context, "shufflec: Halide pipeline error: ");
    halide_print(user_context, message);
    halide_print(user_context, "\n");
}

void shufflec_internal_install_pool(void) {
    if (atomic_load(&shufflec_pool.installed)) return;
    halide_mutex_lock(&shufflec_pool.mutex);
    if (!atomic_load(&shufflec_pool.installed)) {
        if (atomic_load(&shufflec_pool.threads) == 0) atomic_store(&shufflec_pool.threads, shufflec_default_threads());
        halide_set_custom_do_par_for(shufflec_par_for);
        halide_set_error_handler(shufflec_halide_error);
        atomic_store(&shufflec_pool.installed, 1);
    }
    halide_mutex_unlock(&shufflec_pool.mutex);
}

int shufflec_get_num_threads(void) {
    int n = atomic_load(&shufflec_pool.threads);
    return n > 0 ? n : shufflec_default_threads();
}

int shufflec_set_num_threads(int n) {
    if (n < 0 || n > kMaxThreads) return SHUFFLEC_ERROR_BAD_ARGUMENT;
    atomic_store(&shufflec_pool.threads, n == 0 ? shufflec_default_threads() : n);
    return SHUFFLEC_OK;
}

/* ---- Pipeline-internal buffers ---------------------------------------------
 *
 * Tensors that cross pipelines live in each model's static arena; a pipeline's
 * own intermediates (a unit's 1x1-conv and depthwise results) are allocated by
 * Halide through halide_malloc/halide_free on every call. These definitions
 * replace the Halide runtime's weak ones with a small cache of freed blocks:
 * every run asks for the same sizes, so after the first run no call reaches
 * malloc, mmap or a page fault. */

enum { kCachedBlocks = 64, kAlignment = 128 };

static struct {
    struct halide_mutex mutex;
    int count;
    size_t size[kCachedBlocks];
    void *block[kCachedBlocks];
    size_t live_bytes, peak_bytes;
} shufflec_heap;

typedef struct {
    void *raw;
    size_t size;
} shufflec_block_header;

void *halide_malloc(void *user_context, size_t size) {
    (void)user_context;
    halide_mutex_lock(&shufflec_heap.mutex);
    for (int i = 0; i < shufflec_heap.count; i++) {
        if (shufflec_heap.size[i] != size) continue;
        void *p = shufflec_heap.block[i];
        shufflec_heap.count--;
        shufflec_heap.size[i] = shufflec_heap.size[shufflec_heap.count];
        shufflec_heap.block[i] = shufflec_heap.block[shufflec_heap.count];
        shufflec_heap.live_bytes += size;
        if (shufflec_heap.live_bytes > shufflec_heap.peak_bytes) shufflec_heap.peak_bytes = shufflec_heap.live_bytes;
        halide_mutex_unlock(&shufflec_heap.mutex);
        return p;
    }
    halide_mutex_unlock(&shufflec_heap.mutex);
    unsigned char *raw = (unsigned char *)malloc(size + kAlignment + sizeof(shufflec_block_header));
    if (!raw) return NULL;
    uintptr_t aligned = ((uintptr_t)raw + sizeof(shufflec_block_header) + kAlignment - 1) & ~(uintptr_t)(kAlignment - 1);
    shufflec_block_header *h = (shufflec_block_header *)aligned - 1;
    h->raw = raw;
    h->size = size;
    halide_mutex_lock(&shufflec_heap.mutex);
    shufflec_heap.live_bytes += size;
    if (shufflec_heap.live_bytes > shufflec_heap.peak_bytes) shufflec_heap.peak_bytes = shufflec_heap.live_bytes;
    halide_mutex_unlock(&shufflec_heap.mutex);
    return (void *)aligned;
}

void halide_free(void *user_context, void *ptr) {
    (void)user_context;
    if (!ptr) return;
    shufflec_block_header *h = (shufflec_block_header *)ptr - 1;
    halide_mutex_lock(&shufflec_heap.mutex);
    shufflec_heap.live_bytes -= h->size;
    if (shufflec_heap.count < kCachedBlocks) {
        shufflec_heap.size[shufflec_heap.count] = h->size;
        shufflec_heap.block[shufflec_heap.count] = ptr;
        shufflec_heap.count++;
        ptr = NULL;
    }
    halide_mutex_unlock(&shufflec_heap.mutex);
    if (ptr) free(h->raw);
}

size_t shufflec_peak_pipeline_bytes(void) {
    halide_mutex_lock(&shufflec_heap.mutex);
    size_t peak = shufflec_heap.peak_bytes;
    halide_mutex_unlock(&shufflec_heap.mutex);
    return peak;
}

/* 64-byte aligned blocks (scratch arenas, weights files), freed with
 * shufflec_internal_free_aligned. */
void *shufflec_internal_alloc_aligned(size_t bytes) {
    if (bytes > (size_t)-1 - 64 - sizeof(void *)) return NULL;
    unsigned char *raw = (unsigned char *)malloc(bytes + 64 + sizeof(void *));
    if (!raw) return NULL;
    uintptr_t aligned = ((uintptr_t)raw + sizeof(void *) + 63) & ~(uintptr_t)63;
    ((void **)aligned)[-1] = raw;
    return (void *)aligned;
}

void shufflec_internal_free_aligned(void *p) {
    if (p) free(((void **)p)[-1]);
}

/* FNV-1a, 64 bit: the checksum of external weights files. */
uint64_t shufflec_internal_checksum(const void *data, size_t bytes) {
    const unsigned char *p = (const unsigned char *)data;
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < bytes; i++) h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

/* Validates an external weights image: a 64-byte header
 *   "SHFCWTS1", u64 payload bytes, u64 model fingerprint, u64 FNV-1a of the payload, zeros
 * followed by the payload. Returns the payload or NULL with *status set. */
const void *shufflec_internal_check_weights(const void *image, size_t bytes, uint64_t payload_bytes,
                                            uint64_t fingerprint, int *status) {
    const unsigned char *p = (const unsigned char *)image;
    static const char magic[8] = {'S', 'H', 'F', 'C', 'W', 'T', 'S', '1'};
    uint64_t fields[3];
    *status = SHUFFLEC_ERROR_WEIGHTS_CORRUPT;
    if (bytes != 64 + payload_bytes) return NULL;
    for (int i = 0; i < 8; i++)
        if (p[i] != (unsigned char)magic[i]) return NULL;
    for (int f = 0; f < 3; f++) {
        fields[f] = 0;
        for (int b = 7; b >= 0; b--) fields[f] = (fields[f] << 8) | p[8 + 8 * f + b];
    }
    if (fields[0] != payload_bytes || fields[1] != fingerprint) return NULL;
    for (int i = 32; i < 64; i++) /* reserved: zeros in every file this version writes */
        if (p[i] != 0) return NULL;
    if (fields[2] != shufflec_internal_checksum(p + 64, payload_bytes)) return NULL;
    *status = SHUFFLEC_OK;
    return p + 64;
}

/* Reads exactly `bytes` bytes of `path` into 64-byte aligned memory (one more
 * byte is requested to detect a longer file). Returns the block to free with
 * shufflec_internal_free_aligned, or NULL with *status set. */
void *shufflec_internal_read_file(const char *path, size_t bytes, int *status) {
    void *file = fopen(path, "rb");
    if (!file) {
        *status = SHUFFLEC_ERROR_WEIGHTS_FILE;
        return NULL;
    }
    void *block = shufflec_internal_alloc_aligned(bytes + 1);
    if (!block) {
        fclose(file);
        *status = SHUFFLEC_ERROR_OUT_OF_MEMORY;
        return NULL;
    }
    size_t got = fread(block, 1, bytes + 1, file);
    int failed = ferror(file); /* e.g. the path is a folder: fopen succeeds, reading does not */
    fclose(file);
    if (failed || got != bytes) {
        shufflec_internal_free_aligned(block);
        *status = failed ? SHUFFLEC_ERROR_WEIGHTS_FILE : SHUFFLEC_ERROR_WEIGHTS_CORRUPT;
        return NULL;
    }
    *status = SHUFFLEC_OK;
    return block;
}

/* ---- Per-model state: scratch arenas and the weights in use ---------------
 *
 * Every entry point of a model may be called from any number of threads. A
 * run holds the model's weights for its duration and takes a scratch arena
 * (NAME_SCRATCH_BYTES) from the model's free list, or allocates one when all
 * are in use, so concurrent runs compute side by side instead of sharing one
 * static arena (which gave wrong results) or queueing behind one lock. After
 * the first run at a given concurrency no call allocates. A weights change
 * (NAME_load_weights / NAME_set_weights / NAME_unload_weights) waits until no
 * run holds the old weights, and runs that start meanwhile wait for it.
 *
 * The glue keeps the state in a zero-initialized static block of
 * SHUFFLEC_MODEL_STATE_WORDS words (a zero halide_mutex/halide_cond is valid). */

enum { kFreeArenas = 16, kModelStateWords = 64 };

typedef struct {
    struct halide_mutex mutex;
    struct halide_cond changed;
    int runs;               /* runs holding the weights */
    int changing;           /* a weights change is waiting or in progress */
    int free_count;
    void *free_arenas[kFreeArenas];
    const void *weights;    /* external weights payload in use, or NULL */
    void *weights_block;    /* the block it lives in when loaded from a file (freed on change) */
} shufflec_model_state;

typedef char shufflec_model_state_fits[sizeof(shufflec_model_state) <= kModelStateWords * sizeof(uint64_t) ? 1 : -1];

/* Starts a run: waits out a weights change, takes the weights (`embedded`, or
 * the loaded external ones) and, if arena_bytes > 0, a scratch arena. */
int shufflec_internal_begin_run(void *state, const void *embedded, size_t arena_bytes, const void **weights,
                                void **arena) {
    shufflec_model_state *s = (shufflec_model_state *)state;
    *arena = NULL;
    halide_mutex_lock(&s->mutex);
    while (s->changing) halide_cond_wait(&s->changed, &s->mutex);
    *weights = embedded ? embedded : s->weights;
    if (!*weights) {
        halide_mutex_unlock(&s->mutex);
        return SHUFFLEC_ERROR_WEIGHTS_NOT_LOADED;
    }
    s->runs++;
    if (arena_bytes && s->free_count > 0) *arena = s->free_arenas[--s->free_count];
    halide_mutex_unlock(&s->mutex);
    if (arena_bytes && !*arena) {
        *arena = shufflec_internal_alloc_aligned(arena_bytes);
        if (!*arena) {
            halide_mutex_lock(&s->mutex);
            if (--s->runs == 0) halide_cond_broadcast(&s->changed);
            halide_mutex_unlock(&s->mutex);
            return SHUFFLEC_ERROR_OUT_OF_MEMORY;
        }
    }
    return SHUFFLEC_OK;
}

/* Ends a run started by shufflec_internal_begin_run; the arena goes back to the free list. */
void shufflec_internal_end_run(void *state, void *arena) {
    shufflec_model_state *s = (shufflec_model_state *)state;
    halide_mutex_lock(&s->mutex);
    if (arena && s->free_count < kFreeArenas) {
        s->free_arenas[s->free_count++] = arena;
        arena = NULL;
    }
    if (--s->runs == 0) halide_cond_broadcast(&s->changed);
    halide_mutex_unlock(&s->mutex);
    shufflec_internal_free_aligned(arena);
}

/* Replaces the external weights once no run holds the old ones. `block` (may
 * be NULL) is freed when the weights change again. */
void shufflec_internal_swap_weights(void *state, const void *payload, void *block) {
    shufflec_model_state *s = (shufflec_model_state *)state;
    halide_mutex_lock(&s->mutex);
    while (s->changing) halide_cond_wait(&s->changed, &s->mutex);
    s->changing = 1;
    while (s->runs > 0) halide_cond_wait(&s->changed, &s->mutex);
    void *old = s->weights_block;
    s->weights = payload;
    s->weights_block = block;
    s->changing = 0;
    halide_cond_broadcast(&s->changed);
    halide_mutex_unlock(&s->mutex);
    shufflec_internal_free_aligned(old);
}
