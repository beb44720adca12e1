# Layout building blocks shared by the kernel modules.
#
# Every kernel is "for a block of rows [i0, i1): compute z = X_blk w (+ b +
# offset) into a small buffer, do per-row math on the buffer, accumulate
# X_blk^T d into a per-thread vector". The two layout-specific halves live
# here, once per layout, so that loss/gradient, predictions, Hessian-vector
# products and anything later share the same loops.
#
# Layouts (see _validate.py, which guarantees them):
#   dense C-order: element (i, j) at X[i * ld + j]   (ld >= p)
#   dense F-order: element (i, j) at X[i + j * ld]   (ld >= n_rows)
#   CSR:           row i is data/indices[indptr[i]:indptr[i + 1]]
# Buffers z and d are indexed by i - i0. offset may be NULL (no offset).
# Values are float32 or float64; every sum is accumulated in double.

from cython.parallel cimport prange

from fastlogit._core._kernels cimport floating, index_t


cdef inline double dot(const floating *x, const double *w, Py_ssize_t p) noexcept nogil:
    """sum_j x[j] * w[j] with four independent accumulators (breaks the add latency chain)."""
    cdef double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
    cdef Py_ssize_t j = 0
    while j + 4 <= p:
        s0 += x[j] * w[j]
        s1 += x[j + 1] * w[j + 1]
        s2 += x[j + 2] * w[j + 2]
        s3 += x[j + 3] * w[j + 3]
        j += 4
    while j < p:
        s0 += x[j] * w[j]
        j += 1
    return (s0 + s1) + (s2 + s3)


cdef inline void axpy(double a, const floating *x, double *y, Py_ssize_t p) noexcept nogil:
    """y += a * x (vectorised by the compiler: no reduction)."""
    cdef Py_ssize_t j
    for j in range(p):
        y[j] += a * x[j]


cdef inline void z_rows_dense_c(
    const floating *X, Py_ssize_t ld, Py_ssize_t p, Py_ssize_t i0, Py_ssize_t i1,
    const double *w, double b, const double *offset, double *z,
) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(i0, i1):
        z[i - i0] = b + (offset[i] if offset != NULL else 0.0) + dot(X + i * ld, w, p)


cdef inline void xtd_rows_dense_c(
    const floating *X, Py_ssize_t ld, Py_ssize_t p, Py_ssize_t i0, Py_ssize_t i1,
    const double *d, double *g,
) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(i0, i1):
        axpy(d[i - i0], X + i * ld, g, p)


cdef inline void z_rows_dense_f(
    const floating *X, Py_ssize_t ld, Py_ssize_t p, Py_ssize_t i0, Py_ssize_t i1,
    const double *w, double b, const double *offset, double *z,
) noexcept nogil:
    # Column-wise: each column's segment [i0, i1) is contiguous; the block is
    # sized by the caller so that it is still in cache for xtd_rows_dense_f.
    cdef Py_ssize_t i, j, m = i1 - i0
    cdef const floating *col
    cdef double wj
    for i in range(m):
        z[i] = b + (offset[i0 + i] if offset != NULL else 0.0)
    for j in range(p):
        col = X + j * ld + i0
        wj = w[j]
        for i in range(m):
            z[i] += col[i] * wj


cdef inline void xtd_rows_dense_f(
    const floating *X, Py_ssize_t ld, Py_ssize_t p, Py_ssize_t i0, Py_ssize_t i1,
    const double *d, double *g,
) noexcept nogil:
    cdef Py_ssize_t j
    for j in range(p):
        g[j] += dot(X + j * ld + i0, d, i1 - i0)


cdef inline void z_rows_csr(
    const floating *data, const index_t *indices, const index_t *indptr,
    Py_ssize_t i0, Py_ssize_t i1, const double *w, double b, const double *offset, double *z,
) noexcept nogil:
    """data == NULL means every stored value is 1 (one-hot data): no loads, no multiplies."""
    cdef Py_ssize_t i, jj, end
    cdef double s0, s1
    for i in range(i0, i1):
        s0 = b + (offset[i] if offset != NULL else 0.0)
        s1 = 0.0
        jj = indptr[i]
        end = indptr[i + 1]
        # two accumulators: the gathers from w can then be in flight together
        if data == NULL:
            while jj + 2 <= end:
                s0 += w[indices[jj]]
                s1 += w[indices[jj + 1]]
                jj += 2
            if jj < end:
                s0 += w[indices[jj]]
        else:
            while jj + 2 <= end:
                s0 += data[jj] * w[indices[jj]]
                s1 += data[jj + 1] * w[indices[jj + 1]]
                jj += 2
            if jj < end:
                s0 += data[jj] * w[indices[jj]]
        z[i - i0] = s0 + s1


cdef inline void xtd_rows_csr(
    const floating *data, const index_t *indices, const index_t *indptr,
    Py_ssize_t i0, Py_ssize_t i1, const double *d, double *g,
) noexcept nogil:
    """data == NULL: every stored value is 1, as in z_rows_csr."""
    cdef Py_ssize_t i, jj
    cdef double di
    for i in range(i0, i1):
        di = d[i - i0]
        if data == NULL:
            for jj in range(indptr[i], indptr[i + 1]):
                g[indices[jj]] += di
        else:
            for jj in range(indptr[i], indptr[i + 1]):
                g[indices[jj]] += di * data[jj]


# ---------------------------------------------------------------------------
# One entry per layout code, so that a kernel is written once for all three.
# Dense kernels pass an empty int32 `indices`/`indptr` (never read).

cdef enum:
    LAYOUT_C = 0      # dense, C-contiguous, ld = n_features
    LAYOUT_F = 1      # dense, F-contiguous, ld = n_rows
    LAYOUT_CSR = 2    # CSR triplet


cdef inline void z_block(
    int layout, const floating *values, const index_t *indices, const index_t *indptr,
    Py_ssize_t n_rows, Py_ssize_t p, Py_ssize_t i0, Py_ssize_t i1,
    const double *w, double b, const double *offset, double *z,
) noexcept nogil:
    """z[i - i0] = offset[i] + b + x_i . w for the rows i0 <= i < i1."""
    if layout == LAYOUT_CSR:
        z_rows_csr(values, indices, indptr, i0, i1, w, b, offset, z)
    elif layout == LAYOUT_C:
        z_rows_dense_c(values, p, p, i0, i1, w, b, offset, z)
    else:
        z_rows_dense_f(values, n_rows, p, i0, i1, w, b, offset, z)


cdef inline void xtd_block(
    int layout, const floating *values, const index_t *indices, const index_t *indptr,
    Py_ssize_t n_rows, Py_ssize_t p, Py_ssize_t i0, Py_ssize_t i1,
    const double *d, double *g,
) noexcept nogil:
    """g += X[i0:i1]^T d."""
    if layout == LAYOUT_CSR:
        xtd_rows_csr(values, indices, indptr, i0, i1, d, g)
    elif layout == LAYOUT_C:
        xtd_rows_dense_c(values, p, p, i0, i1, d, g)
    else:
        xtd_rows_dense_f(values, n_rows, p, i0, i1, d, g)


# Rows per block: the block's share of X should still be in L2 when the
# second half of a kernel (xtd_block) reads it again; 64 KiB leaves room in
# a 512 KiB L2 for the parts of w and g that the rows touch.
# Work of one row beyond its nonzeros (exp, log1p, bookkeeping), in units of
# one nonzero, used to balance CSR rows between threads.
cdef enum:
    BLOCK_BYTES = 65536
    MAX_BLOCK = 256
    MIN_BLOCK_F = 16
    ROW_COST = 16


cdef inline Py_ssize_t block_rows(
    int layout, Py_ssize_t n_rows, Py_ssize_t p, Py_ssize_t nnz, Py_ssize_t itemsize,
    Py_ssize_t idxsize,
) noexcept nogil:
    cdef double bytes_per_row
    cdef Py_ssize_t blk
    if layout == LAYOUT_CSR:
        bytes_per_row = (<double> nnz / (n_rows if n_rows > 0 else 1)) * (itemsize + idxsize) + 16
    else:
        bytes_per_row = <double> (p if p > 0 else 1) * itemsize
    blk = <Py_ssize_t> (BLOCK_BYTES / bytes_per_row)
    if layout == LAYOUT_F and blk < MIN_BLOCK_F:
        blk = MIN_BLOCK_F
    if blk > MAX_BLOCK:
        blk = MAX_BLOCK
    if blk < 1:
        blk = 1
    return blk


cdef extern from *:
    """
    #include <stdlib.h>
    /* Work per thread below which a kernel uses fewer threads (see thread_count):
       2^20 units, or FASTLOGIT_MIN_THREAD_WORK, read once per module (the test
       suite sets 1 so that every test runs the multi-range code paths). */
    static double fl_min_thread_work(void) {
        static double value = -1.0;
        if (value < 0.0) {
            const char *s = getenv("FASTLOGIT_MIN_THREAD_WORK");
            double v = (s != NULL && *s != '\\0') ? atof(s) : 1048576.0;
            value = v >= 1.0 ? v : 1.0;
        }
        return value;
    }
    """
    double fl_min_thread_work() noexcept nogil


cdef inline int thread_count(int n_threads, Py_ssize_t n_rows, Py_ssize_t n_values) noexcept nogil:
    """The number of row ranges: n_threads, capped so each range has enough work.

    Waking a team of OpenMP threads and joining it costs microseconds on an idle
    machine and up to a scheduler time slice (milliseconds) on a busy one, where a
    descheduled thread holds up the barrier: a 500 x 6 problem took 30x longer on
    two threads than on one, a multinomial fit of scikit-learn's digits 25x.
    So each range gets at least about a millisecond of work (2^20 values, or the
    environment variable FASTLOGIT_MIN_THREAD_WORK). The cap depends only on the
    data's size, so results stay reproducible at a given `threads`. Work is counted in the units of a loss pass: stored values
    (n_values; n_rows * n_features for dense; times K for K scores per value, or
    more for a Hessian) plus ROW_COST per row.
    """
    cdef double work = <double> n_values + ROW_COST * <double> n_rows
    cdef Py_ssize_t cap = <Py_ssize_t> (work / fl_min_thread_work())
    if n_threads > cap:
        n_threads = <int> cap
    if n_threads > n_rows:
        n_threads = <int> n_rows
    return n_threads if n_threads > 0 else 1


cdef inline void partition_rows(
    int layout, const index_t *indptr, Py_ssize_t n_rows, int n_threads, Py_ssize_t *bounds,
) noexcept nogil:
    """Split [0, n_rows) into n_threads contiguous ranges with about equal work.

    Depends only on (the data, n_threads): the partition, and hence the order
    of every floating-point sum, is the same on every run.
    """
    cdef int t
    cdef Py_ssize_t lo, hi, mid
    cdef double total, target
    bounds[0] = 0
    bounds[n_threads] = n_rows
    for t in range(1, n_threads):
        if layout != LAYOUT_CSR:
            bounds[t] = (n_rows * t) // n_threads
            continue
        # smallest i with cost(i) >= target, cost(i) = indptr[i] + ROW_COST * i
        total = <double> indptr[n_rows] - indptr[0] + ROW_COST * <double> n_rows
        target = total * t / n_threads
        lo = bounds[t - 1]
        hi = n_rows
        while lo < hi:
            mid = (lo + hi) // 2
            if <double> indptr[mid] - indptr[0] + ROW_COST * <double> mid < target:
                lo = mid + 1
            else:
                hi = mid
        bounds[t] = lo


cdef inline void merge_thread_buffers(
    double *out, const double *buf, int n_buf, Py_ssize_t p, int n_threads,
) noexcept nogil:
    """out[j] += buf[0, j] + buf[1, j] + ... in that order (buf is n_buf x p, C order).

    Parallel over j, sequential over buffers: the order of the sums never
    depends on the number of OpenMP threads that happen to run.
    """
    cdef Py_ssize_t j
    cdef int t
    cdef double s
    if n_buf == 0:
        return
    for j in prange(p, schedule="static", num_threads=n_threads):
        s = out[j]
        for t in range(n_buf):
            s = s + buf[t * p + j]
        out[j] = s


# ---------------------------------------------------------------------------
# Interrupts (Ctrl-C) inside one long kernel call
#
# Python runs signal handlers only between bytecodes, so a kernel call that holds
# its thread for seconds (a full Hessian: ~4 s on 100k x 1000 dense) would delay
# KeyboardInterrupt by that long. Every kernel whose call can be long therefore
# lets Python run its handlers between blocks of rows: the calling thread (OpenMP's
# master, thread 0, which takes range 0 of a static schedule; a serial build runs
# every range on it) takes the GIL for PyErr_CheckSignals after each POLL_WORK units
# of its work (2^22: 1-5 ms of streaming work, up to ~50 ms of the Hessian's
# scattered pairwise updates; a few microseconds each, nothing measurable: see
# benchmarks/interrupt_overhead.py). A handler that raises (SIGINT:
# KeyboardInterrupt) leaves its exception set in the calling thread and sets `stop`,
# which every range reads between blocks and then returns; the kernel's Python entry
# point re-raises with raise_pending(). When the calling thread is done before the
# others (an oversubscribed machine) it keeps polling while it waits for them
# (range_done). Only Python's main thread runs signal handlers, so calls from other
# threads never take the GIL here (`enabled` is false), and neither do calls too
# short to matter. Work is counted in stored values visited (times the multiply-adds
# per value for the Hessian), as for thread_count. Measured: Ctrl-C inside a 5-10 s
# pairwise Hessian on a busy 2-core machine lands in 0.03-0.16 s, most of it the
# other thread finishing its block of 256 rows.

cdef extern from "Python.h":
    int py_check_signals "PyErr_CheckSignals"()
    unsigned long py_thread_ident "PyThread_get_thread_ident"()


cdef extern from *:
    """
    /* `stop` is written by the calling thread and read by the others between
       blocks: volatile makes every read a load from memory (an aligned int is
       read and written whole on every supported platform; a late read costs at
       most one more block of work). */
    typedef struct { int enabled; volatile int stop; double work; volatile long done; } fl_poll;
    static int fl_poll_stopped(fl_poll *poll) { return poll->stop; }
    static void fl_poll_set_stop(fl_poll *poll) { poll->stop = 1; }
    /* `done` counts the ranges that have finished: an atomic increment by each, read
       by the calling thread while it waits for the others (range_done). */
    #if defined(_MSC_VER)
    #include <intrin.h>
    static void fl_poll_range_done(fl_poll *poll) { _InterlockedIncrement(&poll->done); }
    #else
    static void fl_poll_range_done(fl_poll *poll) {
        __atomic_add_fetch(&poll->done, 1, __ATOMIC_SEQ_CST);
    }
    #endif
    static long fl_poll_done(fl_poll *poll) { return poll->done; }
    /* Inside a kernel's parallel loop: this thread's number (0: the calling thread, the
       team's master) and the team's size. A serial build runs every range on the
       calling thread; so does a team smaller than the number of ranges (OMP_THREAD_LIMIT,
       a call from inside another parallel region), one range after another. */
    #ifdef _OPENMP
    #include <omp.h>
    static int fl_thread_num(void) { return omp_get_thread_num(); }
    static int fl_team_size(void) { return omp_get_num_threads(); }
    #else
    static int fl_thread_num(void) { return 0; }
    static int fl_team_size(void) { return 1; }
    #endif
    #if defined(_WIN32)
    #define WIN32_LEAN_AND_MEAN
    #include <windows.h>
    static void fl_sleep_ms(int ms) { Sleep((DWORD) ms); }
    #else
    #include <time.h>
    static void fl_sleep_ms(int ms) {
        struct timespec ts;
        ts.tv_sec = 0;
        ts.tv_nsec = (long) ms * 1000000L;
        nanosleep(&ts, NULL);
    }
    #endif
    """
    ctypedef struct Poll "fl_poll":
        int enabled
        int stop
        double work
        long done
    bint poll_stopped "fl_poll_stopped"(Poll *poll) noexcept nogil
    void poll_set_stop "fl_poll_set_stop"(Poll *poll) noexcept nogil
    void poll_range_done "fl_poll_range_done"(Poll *poll) noexcept nogil
    long poll_done "fl_poll_done"(Poll *poll) noexcept nogil
    void sleep_ms "fl_sleep_ms"(int ms) noexcept nogil
    int thread_num "fl_thread_num"() noexcept nogil
    int team_size "fl_team_size"() noexcept nogil


cdef enum:
    POLL_WORK = 1 << 22


cdef inline Poll start_poll(unsigned long main_thread, double total_work) noexcept:
    """The interrupt state of a kernel call; call with the GIL held, before `with nogil`.

    main_thread: ``threading.main_thread().ident`` (each kernel module reads it at import).
    """
    cdef Poll poll
    poll.enabled = total_work > POLL_WORK and py_thread_ident() == main_thread
    poll.stop = 0
    poll.work = 0.0
    poll.done = 0
    return poll


cdef inline bint interrupted(Poll *poll, Py_ssize_t t, double work) noexcept nogil:
    """Between two blocks of range t, after `work` units: True when the call must stop.

    The calling thread polls (whichever ranges it runs: all of them in a serial build).
    """
    if poll.enabled and thread_num() == 0:
        poll.work += work
        if poll.work >= POLL_WORK:
            poll.work = 0.0
            with gil:
                if py_check_signals() != 0:
                    poll_set_stop(poll)
    return poll_stopped(poll)


cdef inline void range_done(Poll *poll, Py_ssize_t t, int n_ranges) noexcept nogil:
    """At the end of range t (every range calls it, stopped or not).

    The calling thread (range 0) may finish its rows well before the others, e.g. when
    the machine is oversubscribed and another range's thread waits for a core; it then
    keeps answering signals while it waits: a 1 ms sleep, and PyErr_CheckSignals about
    every 10 ms, until every range is done or a handler raised (which stops the others
    at their next block).
    """
    cdef int ticks = 0
    poll_range_done(poll)
    # only when every range has its own thread: otherwise this thread may still have
    # ranges to run (serial build, smaller team) and waiting would never end
    if not poll.enabled or thread_num() != 0 or team_size() < n_ranges:
        return
    while poll_done(poll) < n_ranges and not poll_stopped(poll):
        sleep_ms(1)
        ticks += 1
        if ticks % 10 == 0:
            with gil:
                if py_check_signals() != 0:
                    poll_set_stop(poll)


cdef inline int raise_pending(Poll *poll) except -1:
    """After the parallel loop, with the GIL: propagate the exception a signal handler raised."""
    if poll.stop:
        return -1  # the exception is set (interrupted() left it in this thread's state)
    return 0


cdef inline double block_work(
    int layout, const index_t *indptr, Py_ssize_t p, Py_ssize_t i0, Py_ssize_t i1,
) noexcept nogil:
    """Work of rows [i0, i1) in the units of thread_count: stored values + ROW_COST per row."""
    if layout == LAYOUT_CSR:
        return <double> (indptr[i1] - indptr[i0]) + ROW_COST * <double> (i1 - i0)
    return (<double> p + ROW_COST) * <double> (i1 - i0)
