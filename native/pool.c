/* The thread pool behind the parallel drivers of parallel.c.
 *
 * Why not OpenMP: an OpenMP region gives each thread a fixed share and
 * ends at a barrier, so the caller waits for a worker that has not been
 * scheduled yet.  With a busy process on the other core that worker may
 * wait a whole scheduler slice, and so does every call (a 1M relu took
 * 8-12 ms instead of 0.05 ms).  Here a call is cut into chunks that every
 * participant, the caller first, claims one at a time from a shared
 * counter: a worker that wakes late finds less (or nothing) left to do, and
 * the caller only ever waits for chunks a worker has actually started.
 *
 * One job at a time uses the workers; a caller that finds them busy (another
 * thread's call) runs its own call alone, so concurrent callers are never
 * serialised behind each other.
 *
 * Each participant (the caller is number 0) has a range of the chunks, in
 * order, as OpenMP's static split would give it: run alone on an idle
 * machine, each thread keeps streaming through the same memory from call to
 * call (in its own cache).  It claims from the front of its range, and when
 * that is empty, steals from the back of the others'.  A range is one 64-bit
 * word, its next chunk (bits 0-19) and its end (bits 20-39), and a claim is
 * a compare-and-swap on it, so a worker can only ever claim a chunk still
 * unclaimed in the job in the slot at that instant; while that chunk is not
 * done the job's caller cannot return, so the job description the worker
 * then reads is still valid.  Idle workers spin briefly, then sleep on a
 * futex (a condition variable elsewhere than Linux).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <linux/futex.h>
#include <sys/syscall.h>
#endif

#include "fastact_internal.h"

#define FA_POOL_MAX_WORKERS 255
#define FA_CHUNK_BITS 20
#define FA_CHUNK_MASK ((UINT64_C(1) << FA_CHUNK_BITS) - 1)
/* How long an idle worker spins before it sleeps, and a caller before it
 * sleeps waiting for a worker's last chunk (nanoseconds).  A worker must
 * stay awake across the gap between back-to-back calls: one that sleeps
 * wakes tens of microseconds late, finds little left to claim, goes idle
 * early and sleeps again (measured here: 1M relu on 2 threads as slow as on
 * one with a 50 us spin, twice as fast with 300 us).  But a worker that
 * spins on a core another process wants becomes a CPU hog in the
 * scheduler's eyes: it is then descheduled at the end of each time slice,
 * often in the middle of a chunk the caller must wait for; and one woken on
 * the caller's own core (the scheduler does that when the other core is
 * taken) would spin there while the caller waits for the core (measured:
 * a tenth of 1M relu calls took 0.38 ms instead of 0.04).  So a worker
 * spins only while nothing has preempted it (its involuntary context
 * switches did not grow) and it is not on the caller's core; otherwise it
 * sleeps at once, which also keeps it quick to run when the next call
 * wakes it.  The caller spins less:
 * sleeping frees its core, where the scheduler may then run a worker that
 * another process has pushed off its own. */
#define FA_WORKER_SPIN_NS 300000
#define FA_CALLER_SPIN_NS 100000
/* The caller waits for a worker's chunk as long as FA_CALLER_PATIENCE of its own
 * chunks took (at least FA_CALLER_MIN_SPIN_NS, at most FA_CALLER_SPIN_NS) before it
 * moves the worker onto its core: a chunk that takes many times longer than the
 * caller's is one whose worker lost its core, and waiting the full spin for it
 * was most of the call (fastact.torch right after a PyTorch op, whose OpenMP
 * threads spin on the other core: 128k silu 94 us on 2 threads, 43 on one). */
#define FA_CALLER_PATIENCE 4
#define FA_CALLER_MIN_SPIN_NS 10000

typedef struct {
    fa_pool_body body;
    void *ctx;
    size_t units, per_chunk;
} fa_pool_job;

static struct {
    struct { _Alignas(64) _Atomic uint64_t w; } range[FA_POOL_MAX_WORKERS + 1];
    _Alignas(64) _Atomic int parts;           /* participants in the current job */
    _Atomic int caller_cpu;                   /* where the current job's caller runs */
    _Alignas(64) _Atomic uint32_t done;       /* chunks finished by workers */
    _Atomic uint32_t caller_sleeping;
    _Alignas(64) _Atomic uint32_t bell;       /* bumped for every job */
    _Atomic uint32_t sleepers;                /* workers asleep on the bell */
    _Atomic int stop;
    _Alignas(64) atomic_flag busy;            /* a caller owns the job slot */
    fa_pool_job job;                          /* written by the slot's owner */
    pthread_mutex_t grow_lock;
    _Atomic int workers;                      /* started and running */
    pthread_t threads[FA_POOL_MAX_WORKERS];
    _Atomic int working[FA_POOL_MAX_WORKERS]; /* holds a claimed chunk */
    _Atomic int moved[FA_POOL_MAX_WORKERS];   /* pinned to a caller's core by fa_rescue */
    _Atomic unsigned delay_ms;                /* fastact__pool_test_delay */
} fa_pool = {.busy = ATOMIC_FLAG_INIT, .grow_lock = PTHREAD_MUTEX_INITIALIZER};

static inline void fa_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static int64_t fa_now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* How long the caller, having run `mine` chunks in `took` ns, spins for a
 * worker's chunk (see FA_CALLER_PATIENCE). */
static int64_t fa_caller_patience(size_t mine, int64_t took)
{
    if (mine == 0)
        return FA_CALLER_SPIN_NS;
    int64_t ns = took / (int64_t)mine * FA_CALLER_PATIENCE;
    return ns < FA_CALLER_MIN_SPIN_NS ? FA_CALLER_MIN_SPIN_NS
         : ns > FA_CALLER_SPIN_NS ? FA_CALLER_SPIN_NS : ns;
}

/* How many times the calling thread was preempted (involuntary context
 * switches): another runnable thread wanted its core.  -1 where the system
 * does not say. */
static long fa_preemptions(void)
{
#ifdef RUSAGE_THREAD
    struct rusage u;
    if (getrusage(RUSAGE_THREAD, &u) == 0)
        return u.ru_nivcsw;
#endif
    return -1;
}

/* The core this thread runs on, or -1. */
static int fa_cpu(void)
{
#ifdef __linux__
    return sched_getcpu();
#else
    return -1;
#endif
}

/* Whether a worker should stop spinning: it was preempted (since the count
 * *preempted, which is updated), or it runs on the caller's core, where its
 * spinning would keep the caller from running. */
static int fa_crowded(long *preempted)
{
    long p = fa_preemptions();
    int cpu = fa_cpu();
    int crowded = p != *preempted
                  || (cpu >= 0 && cpu == atomic_load_explicit(&fa_pool.caller_cpu,
                                                               memory_order_relaxed));
    *preempted = p;
    return crowded;
}

/* Spin while *w == v, for at most ns nanoseconds, and (with `preempted`)
 * only until fa_crowded says so; the last value seen. */
static uint32_t fa_spin_while(_Atomic uint32_t *w, uint32_t v, int64_t ns, long *preempted)
{
    uint32_t now = atomic_load_explicit(w, memory_order_acquire);
    int64_t end = 0;
    for (unsigned i = 1; now == v; i++) {
        fa_relax();
        now = atomic_load_explicit(w, memory_order_acquire);
        if (i % 64 == 0) {             /* the clock every ~2 us */
            int64_t t = fa_now_ns();
            if (end == 0)
                end = t + ns;
            else if (t >= end)
                break;
        }
        if (preempted && i % 1024 == 0 && fa_crowded(preempted))     /* every ~30 us */
            break;
    }
    return now;
}

/* Sleep while *w == v / wake up to n sleepers of w (after changing *w). */
#ifdef __linux__
static void fa_sleep_on(_Atomic uint32_t *w, uint32_t v)
{
    syscall(SYS_futex, (uint32_t *)w, FUTEX_WAIT_PRIVATE, v, NULL, NULL, 0);
}

static void fa_wake(_Atomic uint32_t *w, int n)
{
    syscall(SYS_futex, (uint32_t *)w, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
}
#else
static pthread_mutex_t fa_sleep_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t fa_sleep_cond = PTHREAD_COND_INITIALIZER;

static void fa_sleep_on(_Atomic uint32_t *w, uint32_t v)
{
    pthread_mutex_lock(&fa_sleep_lock);
    while (atomic_load(w) == v)
        pthread_cond_wait(&fa_sleep_cond, &fa_sleep_lock);
    pthread_mutex_unlock(&fa_sleep_lock);
}

static void fa_wake(_Atomic uint32_t *w, int n)
{
    (void)w;
    (void)n;
    pthread_mutex_lock(&fa_sleep_lock);
    pthread_mutex_unlock(&fa_sleep_lock);
    pthread_cond_broadcast(&fa_sleep_cond);
}
#endif

/* Claim a chunk of the current job for participant p of `parts`: from the
 * front of its own range, else from the back of another's.  1 and its
 * index, or 0 when none is left. */
static int fa_claim(int p, int parts, size_t *chunk)
{
    for (int k = 0; k < parts; k++) {
        _Atomic uint64_t *r = &fa_pool.range[(p + k) % parts].w;
        uint64_t t = atomic_load_explicit(r, memory_order_relaxed);
        for (;;) {
            uint64_t next = t & FA_CHUNK_MASK, end = t >> FA_CHUNK_BITS & FA_CHUNK_MASK;
            if (next >= end)
                break;
            uint64_t left = k == 0 ? t + 1 : t - (UINT64_C(1) << FA_CHUNK_BITS);
            if (atomic_compare_exchange_weak_explicit(r, &t, left, memory_order_acquire,
                                                      memory_order_relaxed)) {
                *chunk = (size_t)(k == 0 ? next : end - 1);
                return 1;
            }
        }
    }
    return 0;
}

static void fa_run_chunk(const fa_pool_job *j, size_t c)
{
    size_t lo = c * j->per_chunk;
    size_t hi = j->units - lo < j->per_chunk ? j->units : lo + j->per_chunk;
    j->body(j->ctx, lo, hi);
}

static void fa_delay_for_test(void)
{
    unsigned ms = atomic_load_explicit(&fa_pool.delay_ms, memory_order_relaxed);
    if (ms) {
        struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) != 0)
            ;
    }
}

/* Workers stuck behind another process: a caller that has finished every
 * other chunk and waited FA_CALLER_SPIN_NS in vain for a worker's chunk moves
 * that worker onto its own core (pinning it there) before it sleeps.
 * Otherwise the worker waits for the other process's time slice (~3 ms
 * measured) and so does the call: the scheduler does not move a thread
 * that has just run (it counts as cache-hot) onto the core the caller
 * frees.  The worker takes its own CPU set back when its chunk is done. */
#ifdef __linux__
static void fa_rescue(int helpers)
{
    int cpu = sched_getcpu();
    if (cpu < 0)
        return;
    cpu_set_t here;
    CPU_ZERO(&here);
    CPU_SET(cpu, &here);
    for (int i = 0; i < helpers; i++) {
        if (atomic_load(&fa_pool.working[i])
                && pthread_setaffinity_np(fa_pool.threads[i], sizeof here, &here) == 0)
            atomic_store(&fa_pool.moved[i], 1);
    }
}

/* Back to the worker's own CPU set, and off the caller's core: a worker
 * left there would be woken there for the next call too. */
static void fa_move_back(int index, const cpu_set_t *home, int have_home)
{
    if (!atomic_load_explicit(&fa_pool.moved[index], memory_order_relaxed)
            || !atomic_exchange(&fa_pool.moved[index], 0) || !have_home)
        return;
    cpu_set_t away = *home;
    int cpu = sched_getcpu();
    if (cpu >= 0 && CPU_ISSET(cpu, &away) && CPU_COUNT(&away) > 1) {
        CPU_CLR(cpu, &away);
        pthread_setaffinity_np(pthread_self(), sizeof away, &away);
    }
    pthread_setaffinity_np(pthread_self(), sizeof *home, home);
}
#endif

static void *fa_worker(void *arg)
{
    int index = (int)(intptr_t)arg;
#ifdef __linux__
    cpu_set_t home;
    int have_home = pthread_getaffinity_np(pthread_self(), sizeof home, &home) == 0;
#endif
    uint32_t seen = atomic_load(&fa_pool.bell);
    long preempted = fa_preemptions();
    while (!atomic_load_explicit(&fa_pool.stop, memory_order_acquire)) {
        fa_delay_for_test();
        size_t c;
        int parts = atomic_load_explicit(&fa_pool.parts, memory_order_relaxed);
        while (index + 1 < parts && fa_claim(index + 1, parts, &c)) {
            atomic_store_explicit(&fa_pool.working[index], 1, memory_order_relaxed);
            fa_run_chunk(&fa_pool.job, c);
            atomic_store_explicit(&fa_pool.working[index], 0, memory_order_relaxed);
            atomic_fetch_add(&fa_pool.done, 1);       /* seq_cst: against caller_sleeping */
            if (atomic_load(&fa_pool.caller_sleeping))
                fa_wake(&fa_pool.done, 1);
        }
#ifdef __linux__
        fa_move_back(index, &home, have_home);
#endif
        /* idle: spin a little if this core is ours, then sleep until the bell rings */
        int alone = !fa_crowded(&preempted);
        if (!alone || fa_spin_while(&fa_pool.bell, seen, FA_WORKER_SPIN_NS, &preempted) == seen) {
            atomic_fetch_add(&fa_pool.sleepers, 1);   /* seq_cst: against the bell */
            if (atomic_load(&fa_pool.bell) == seen && !atomic_load(&fa_pool.stop))
                fa_sleep_on(&fa_pool.bell, seen);
            atomic_fetch_sub(&fa_pool.sleepers, 1);
        }
        seen = atomic_load(&fa_pool.bell);
    }
    return NULL;
}

/* At least `want` workers (fewer if threads cannot be made); how many. */
static int fa_grow(int want)
{
    if (want > FA_POOL_MAX_WORKERS)
        want = FA_POOL_MAX_WORKERS;
    int have = atomic_load_explicit(&fa_pool.workers, memory_order_acquire);
    if (have >= want)
        return have;
    pthread_mutex_lock(&fa_pool.grow_lock);
    /* workers take no signals: they stay with the threads that handle them */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    for (have = atomic_load(&fa_pool.workers); have < want; have++) {
        if (pthread_create(&fa_pool.threads[have], NULL, fa_worker, (void *)(intptr_t)have))
            break;
        atomic_store_explicit(&fa_pool.workers, have + 1, memory_order_release);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_mutex_unlock(&fa_pool.grow_lock);
    return have;
}

void fastact__pool_run(fa_pool_body body, void *ctx, size_t units, size_t per_chunk,
                       int threads)
{
    if (units == 0)
        return;
    if (per_chunk == 0)
        per_chunk = 1;
    size_t chunks = units / per_chunk + (units % per_chunk != 0);
    if (chunks > FA_CHUNK_MASK) {
        per_chunk = units / FA_CHUNK_MASK + 1;
        chunks = units / per_chunk + (units % per_chunk != 0);
    }
    int helpers = threads - 1;
    if ((size_t)helpers > chunks - 1)
        helpers = (int)(chunks - 1);
    if (helpers < 1 || atomic_flag_test_and_set_explicit(&fa_pool.busy, memory_order_acquire)) {
        body(ctx, 0, units);                    /* serial, or another call has the workers */
        return;
    }
    int workers = fa_grow(helpers);
    if (workers < helpers)
        helpers = workers;
    if (helpers < 1) {
        atomic_flag_clear_explicit(&fa_pool.busy, memory_order_release);
        body(ctx, 0, units);
        return;
    }
    fa_pool.job = (fa_pool_job){body, ctx, units, per_chunk};
    atomic_store_explicit(&fa_pool.done, 0, memory_order_relaxed);
    int parts = helpers + 1;
    for (int q = parts - 1; q >= 0; q--) {      /* the caller's range opens last */
        uint64_t lo = (uint64_t)chunks * (uint64_t)q / (uint64_t)parts;
        uint64_t hi = (uint64_t)chunks * (uint64_t)(q + 1) / (uint64_t)parts;
        atomic_store_explicit(&fa_pool.range[q].w, hi << FA_CHUNK_BITS | lo,
                              memory_order_release);
    }
    atomic_store_explicit(&fa_pool.parts, parts, memory_order_relaxed);
    atomic_store_explicit(&fa_pool.caller_cpu, fa_cpu(), memory_order_relaxed);
    atomic_fetch_add(&fa_pool.bell, 1);         /* seq_cst: against sleepers */
    if (atomic_load(&fa_pool.sleepers))
        fa_wake(&fa_pool.bell, helpers);

    /* the caller works too, and never waits for a worker that has not claimed */
    size_t c, mine = 0;
    int64_t started = fa_now_ns();
    while (fa_claim(0, parts, &c)) {
        fa_run_chunk(&fa_pool.job, c);
        mine++;
    }
    uint32_t theirs = (uint32_t)(chunks - mine);
    uint32_t done = atomic_load_explicit(&fa_pool.done, memory_order_acquire);
    int64_t patience = fa_caller_patience(mine, fa_now_ns() - started);
    while (done != theirs) {        /* spin while the workers keep finishing chunks */
        uint32_t before = done;
        done = fa_spin_while(&fa_pool.done, before, patience, NULL);
        if (done == before)
            break;
    }
#ifdef __linux__
    if (done != theirs)
        fa_rescue(helpers);
#endif
    while (done != theirs) {
        atomic_store(&fa_pool.caller_sleeping, 1);
        done = atomic_load(&fa_pool.done);
        if (done != theirs)
            fa_sleep_on(&fa_pool.done, done);
        done = atomic_load(&fa_pool.done);
    }
    atomic_store_explicit(&fa_pool.caller_sleeping, 0, memory_order_relaxed);
    atomic_flag_clear_explicit(&fa_pool.busy, memory_order_release);
}

int fastact__pool_cores(void)
{
    static _Atomic int cores;
    int n = atomic_load_explicit(&cores, memory_order_relaxed);
    if (n == 0) {
#ifdef __linux__
        cpu_set_t set;
        if (sched_getaffinity(0, sizeof set, &set) == 0)
            n = CPU_COUNT(&set);
#endif
        if (n < 1) {
            long online = sysconf(_SC_NPROCESSORS_ONLN);
            n = online < 1 ? 1 : online > 4096 ? 4096 : (int)online;
        }
        atomic_store_explicit(&cores, n, memory_order_relaxed);
    }
    return n;
}

void fastact__pool_forget(void)
{
    /* in a child after fork(): the workers stayed in the parent */
    atomic_store(&fa_pool.workers, 0);
}

FA_API void fastact__pool_test_delay(unsigned ms)
{
    atomic_store(&fa_pool.delay_ms, ms);
}

/* At exit (or unload): workers finish their chunk, if any, and are joined. */
__attribute__((destructor)) static void fa_pool_stop(void)
{
    int n = atomic_load(&fa_pool.workers);
    if (n == 0)
        return;
    atomic_store(&fa_pool.stop, 1);
    atomic_fetch_add(&fa_pool.bell, 1);
    fa_wake(&fa_pool.bell, FA_POOL_MAX_WORKERS);
    for (int i = 0; i < n; i++)
        pthread_join(fa_pool.threads[i], NULL);
    atomic_store(&fa_pool.workers, 0);
}
