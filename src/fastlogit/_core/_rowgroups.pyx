# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False
"""Group identical rows of X by hashing (the compiled half of fastlogit.aggregate).

Contract
--------
* The design is (layout, values, indices, indptr, n_rows, n_features) as for
  every kernel (dense C/F, CSR int32/int64; float32/float64), validated.
* A row is the *set* of its nonzero entries {(j, x_ij) : x_ij != 0}: stored
  zeros are ignored and CSR column order does not matter. Duplicate column
  indices within a CSR row (which scipy sums) are detected and reported; the
  caller then canonicalises a copy (sum_duplicates) and calls again.

Algorithm
---------
1. Hash (threads): a 64-bit hash per row, the wrapping sum of a mixed hash of
   each nonzero entry, so it does not depend on entry order.
2. Group by hash (one thread): open addressing, each slot holding a hash and
   its group; the table grows with the number of groups (at most half full),
   so with many duplicates it stays cache-sized. Groups are numbered in order
   of first appearance.
3. Verify (threads): every row is compared entry by entry with the first row
   of its group -- for CSR with a compact copy of those first rows (which is
   also X_unique), read far more cache-friendly than the scattered rows of X.
   A mismatch means two different rows share a 64-bit hash (odds ~ n^2 / 2^65);
   then step 2 is redone with every hash match confirmed by comparing the rows
   (group_rows_exact), so the grouping is always exact.
Memory: O(n_rows) (hashes, groups), the distinct rows (a result), and
O(n_features) scratch per thread; X is never copied or densified.
"""

import numpy as np

from cython.parallel cimport prange
from libc.stdint cimport int64_t, uint64_t
from libc.stdlib cimport calloc, free
from libc.string cimport memcpy

from fastlogit._core._kernels cimport floating, index_t
from fastlogit._core._rows cimport LAYOUT_C, LAYOUT_CSR, partition_rows

cdef extern from *:
    """
    #if defined(__GNUC__) || defined(__clang__)
    #define FL_PREFETCH(p) __builtin_prefetch((const void *)(p))
    #else
    #define FL_PREFETCH(p) ((void)0)
    #endif
    """
    void FL_PREFETCH(const void *p) noexcept nogil

# Prefetch distances, in rows: a row's own work is ~50 ns, a memory round
# trip several times that (more on a busy machine). Grouping prefetches the
# hash-table slot of row i + AHEAD_SLOT; verification the extent of row
# i + AHEAD_EXTENT's group row, then that row's entries at i + AHEAD_ENTRIES.
cdef enum:
    AHEAD_SLOT = 32
    AHEAD_EXTENT = 32
    AHEAD_ENTRIES = 16
    MIN_TABLE = 1 << 12


cdef inline uint64_t mix64(uint64_t x) noexcept nogil:
    """The splitmix64 finaliser (Steele, Lea & Flood 2014): a bijection that
    spreads every input bit over the whole word."""
    x ^= x >> 30
    x *= 0xbf58476d1ce4e5b9ULL
    x ^= x >> 27
    x *= 0x94d049bb133111ebULL
    x ^= x >> 31
    return x


cdef inline uint64_t entry_hash(Py_ssize_t j, double v) noexcept nogil:
    # the value is hashed by its float64 bit pattern (float32 values are
    # widened first, so equal values hash equally whatever their dtype)
    cdef uint64_t bits
    memcpy(&bits, &v, sizeof(double))
    return mix64(mix64(<uint64_t> j + 0x9e3779b97f4a7c15ULL) ^ bits)


cdef inline uint64_t finish(uint64_t h, Py_ssize_t count) noexcept nogil:
    return mix64(h + mix64(<uint64_t> count))


cdef uint64_t hash_row_csr(
    const floating *data, const index_t *indices, Py_ssize_t a, Py_ssize_t b,
) noexcept nogil:
    cdef uint64_t h = 0
    cdef Py_ssize_t jj, count = 0
    for jj in range(a, b):
        if data[jj] != 0:
            h += entry_hash(indices[jj], data[jj])
            count += 1
    return finish(h, count)


cdef uint64_t hash_row_dense(
    const floating *x, Py_ssize_t stride, Py_ssize_t p,
) noexcept nogil:
    cdef uint64_t h = 0
    cdef Py_ssize_t j, count = 0
    for j in range(p):
        if x[j * stride] != 0:
            h += entry_hash(j, x[j * stride])
            count += 1
    return finish(h, count)


cdef bint has_repeated_column(
    const index_t *indices, Py_ssize_t a, Py_ssize_t b, int64_t *stamp, int64_t tag,
) noexcept nogil:
    cdef Py_ssize_t jj
    for jj in range(a, b):
        if stamp[indices[jj]] == tag:
            return True
        stamp[indices[jj]] = tag
    return False


cdef bint equal_rows_dense(
    const floating *X, int layout, Py_ssize_t n_rows, Py_ssize_t p, Py_ssize_t r, Py_ssize_t s,
) noexcept nogil:
    cdef Py_ssize_t j
    if layout == LAYOUT_C:
        for j in range(p):
            if X[r * p + j] != X[s * p + j]:
                return False
    else:
        for j in range(p):
            if X[r + j * n_rows] != X[s + j * n_rows]:
                return False
    return True


cdef uint64_t *grow_table(uint64_t *table, Py_ssize_t size, Py_ssize_t new_size) noexcept nogil:
    """A table of new_size slots holding the entries of table (freed); NULL if out of memory."""
    cdef uint64_t *out = <uint64_t *> calloc(2 * new_size, sizeof(uint64_t))
    cdef Py_ssize_t s, slot
    cdef uint64_t mask = <uint64_t> (new_size - 1)
    if out == NULL:
        return NULL
    if table != NULL:
        for s in range(size):
            if table[2 * s] != 0:
                slot = <Py_ssize_t> (table[2 * s + 1] & mask)
                while out[2 * slot] != 0:
                    slot = (slot + 1) & <Py_ssize_t> mask
                out[2 * slot] = table[2 * s]
                out[2 * slot + 1] = table[2 * s + 1]
        free(table)
    return out


cdef bint equal_rows_csr(
    const floating *data_a, const index_t *indices_a, Py_ssize_t a0, Py_ssize_t a1,
    const floating *data_b, const index_t *indices_b, Py_ssize_t b0, Py_ssize_t b1,
    double *mark, int64_t *stamp, int64_t tag,
) noexcept nogil:
    """Two CSR rows (from possibly different arrays) hold the same nonzero entries."""
    cdef Py_ssize_t jj, count_a = 0, count_b = 0
    for jj in range(a0, a1):
        if data_a[jj] != 0:
            stamp[indices_a[jj]] = tag
            mark[indices_a[jj]] = data_a[jj]
            count_a += 1
    for jj in range(b0, b1):
        if data_b[jj] != 0:
            if stamp[indices_b[jj]] != tag or mark[indices_b[jj]] != data_b[jj]:
                return False
            count_b += 1
    return count_a == count_b  # no repeated columns, so equal counts mean equal sets


cdef inline bint _same_rows(
    int layout, const floating *vals, const index_t *indices, const index_t *indptr,
    Py_ssize_t n_rows, Py_ssize_t p, Py_ssize_t r, Py_ssize_t i, double *mark, int64_t *stamp,
    int64_t *tag,
) noexcept nogil:
    """Rows r and i of X are equal (CSR: as sets of nonzero entries)."""
    if layout == LAYOUT_CSR:
        tag[0] += 1
        return equal_rows_csr(vals, indices, indptr[r], indptr[r + 1], vals, indices,
                              indptr[i], indptr[i + 1], mark, stamp, tag[0])
    return equal_rows_dense(vals, layout, n_rows, p, r, i)


cdef Py_ssize_t group_by_hash(
    const uint64_t *hashes, Py_ssize_t n_rows, Py_ssize_t *inverse, Py_ssize_t *first,
    bint exact, int layout, const floating *vals, const index_t *indices,
    const index_t *indptr, Py_ssize_t p, double *mark, int64_t *stamp,
) noexcept nogil:
    """Step 2: number the groups of rows. Returns the number of groups, -1 if out of memory.

    exact=False: rows with equal hashes form a group (step 3 then verifies). exact=True: a
    hash match joins the group only when the rows compare equal (mark, stamp: scratch of
    n_features for CSR; unused for dense), so colliding rows stay apart.
    Slot s of the table: table[2s] = group + 1 (0 = empty), table[2s + 1] = its hash.
    """
    cdef Py_ssize_t size = MIN_TABLE, i, slot, g, n_groups = 0
    cdef uint64_t mask = <uint64_t> (size - 1)
    cdef uint64_t *table = grow_table(NULL, 0, size)
    cdef int64_t tag = 0
    if table == NULL:
        return -1
    for i in range(n_rows):
        if 2 * (n_groups + 1) > size:
            table = grow_table(table, size, 2 * size)
            if table == NULL:
                return -1
            size *= 2
            mask = <uint64_t> (size - 1)
        if i + AHEAD_SLOT < n_rows:
            FL_PREFETCH(&table[2 * <Py_ssize_t> (hashes[i + AHEAD_SLOT] & mask)])
        slot = <Py_ssize_t> (hashes[i] & mask)
        while True:
            g = <Py_ssize_t> table[2 * slot] - 1
            if g < 0:
                table[2 * slot] = <uint64_t> (n_groups + 1)
                table[2 * slot + 1] = hashes[i]
                first[n_groups] = i
                inverse[i] = n_groups
                n_groups += 1
                break
            if table[2 * slot + 1] == hashes[i] and (
                not exact or _same_rows(layout, vals, indices, indptr, n_rows, p, first[g], i,
                                        mark, stamp, &tag)
            ):
                inverse[i] = g
                break
            slot = (slot + 1) & <Py_ssize_t> mask
    free(table)
    return n_groups


def _hash_rows(int layout, const floating[::1] values, const index_t[::1] indices,
               const index_t[::1] indptr, Py_ssize_t n_rows, Py_ssize_t p, int T):
    """Step 1: the row hashes, or None when a CSR row repeats a column index."""
    hashes_arr = np.empty(max(n_rows, 1), dtype=np.uint64)
    cdef uint64_t[::1] hashes = hashes_arr
    cdef const floating *vals = &values[0] if values.shape[0] > 0 else NULL
    cdef Py_ssize_t stride = 1 if layout == LAYOUT_C else n_rows
    cdef int64_t[:, ::1] stamps = np.full((T, max(p, 1)), -1, dtype=np.int64)
    cdef int64_t[::1] repeated = np.zeros(T, dtype=np.int64)
    cdef Py_ssize_t[::1] bounds = np.empty(T + 1, dtype=np.intp)
    cdef Py_ssize_t r0, r1, i
    cdef int t
    with nogil:
        # row ranges of about equal work (stored values for CSR), as in every kernel
        partition_rows(layout, &indptr[0] if layout == LAYOUT_CSR else NULL, n_rows, T,
                       &bounds[0])
        for t in prange(T, schedule="static", chunksize=1, num_threads=T):
            r0 = bounds[t]
            r1 = bounds[t + 1]
            for i in range(r0, r1):
                if layout == LAYOUT_CSR:
                    if has_repeated_column(&indices[0], indptr[i], indptr[i + 1],
                                           &stamps[t, 0], i):
                        repeated[t] = 1
                    hashes[i] = hash_row_csr(vals, &indices[0], indptr[i], indptr[i + 1])
                else:
                    hashes[i] = hash_row_dense(
                        vals + (i * p if layout == LAYOUT_C else i), stride, p)
    for t in range(T):
        if repeated[t]:
            return None
    return hashes_arr


def _gather_csr_rows(const floating[::1] values, const index_t[::1] indices,
                     const index_t[::1] indptr, const Py_ssize_t[::1] rows, rep_values,
                     rep_indices, const index_t[::1] rep_indptr):
    """Copy the CSR rows `rows` (increasing) into the compact arrays rep_*."""
    cdef floating[::1] rv = rep_values
    cdef index_t[::1] ri = rep_indices
    cdef Py_ssize_t g, jj, k
    with nogil:
        for g in range(rows.shape[0]):
            k = rep_indptr[g]
            for jj in range(indptr[rows[g]], indptr[rows[g] + 1]):
                rv[k] = values[jj]
                ri[k] = indices[jj]
                k += 1


def _verify(int layout, const floating[::1] values, const index_t[::1] indices,
            const index_t[::1] indptr, Py_ssize_t n_rows, Py_ssize_t p,
            const Py_ssize_t[::1] inverse, const Py_ssize_t[::1] first,
            const floating[::1] rep_values, const index_t[::1] rep_indices,
            const index_t[::1] rep_indptr, int T):
    """Step 3: True when every row equals the first row of its group."""
    cdef double[:, ::1] mark = np.zeros((T, max(p, 1)), dtype=np.float64)
    cdef int64_t[:, ::1] stamp = np.full((T, max(p, 1)), -1, dtype=np.int64)
    cdef int64_t[::1] bad = np.zeros(T, dtype=np.int64)
    cdef const floating *vals = &values[0] if values.shape[0] > 0 else NULL
    cdef const floating *rvals = &rep_values[0] if rep_values.shape[0] > 0 else NULL
    cdef Py_ssize_t[::1] bounds = np.empty(T + 1, dtype=np.intp)
    cdef Py_ssize_t r0, r1, i, g
    cdef int t
    cdef bint same
    with nogil:
        # row ranges of about equal work (stored values for CSR), as in every kernel
        partition_rows(layout, &indptr[0] if layout == LAYOUT_CSR else NULL, n_rows, T,
                       &bounds[0])
        for t in prange(T, schedule="static", chunksize=1, num_threads=T):
            r0 = bounds[t]
            r1 = bounds[t + 1]
            for i in range(r0, r1):
                if layout == LAYOUT_CSR:
                    # the group's row lies anywhere in rep: start its reads early
                    if i + AHEAD_EXTENT < r1:
                        FL_PREFETCH(&rep_indptr[inverse[i + AHEAD_EXTENT]])
                    if i + AHEAD_ENTRIES < r1:
                        g = inverse[i + AHEAD_ENTRIES]
                        FL_PREFETCH(&rep_indices[rep_indptr[g]])
                        FL_PREFETCH(&rvals[rep_indptr[g]])
                g = inverse[i]
                if layout == LAYOUT_CSR:
                    # (a group's first row is compared with its own copy: cheaper
                    # than looking up first[g], a random read)
                    same = equal_rows_csr(rvals, &rep_indices[0], rep_indptr[g],
                                           rep_indptr[g + 1], vals, &indices[0], indptr[i],
                                           indptr[i + 1], &mark[t, 0], &stamp[t, 0], i)
                else:
                    same = first[g] == i or equal_rows_dense(vals, layout, n_rows, p,
                                                             first[g], i)
                if not same:
                    bad[t] = 1
                    break
    for t in range(T):
        if bad[t]:
            return False
    return True


def group_rows(
    int layout, const floating[::1] values, const index_t[::1] indices,
    const index_t[::1] indptr, Py_ssize_t n_rows, Py_ssize_t n_features, int n_threads,
    bint exact_only=False,
):
    """Number the distinct rows of X.

    Returns (inverse, first, rep): inverse[i] is the group of row i, first[g]
    the first row of group g (groups in order of first appearance), rep the
    distinct rows as CSR arrays (values, indices, indptr) for CSR input, else
    None; or None when a CSR row repeats a column index (canonicalise and
    retry). ``exact_only`` skips the hash-only grouping (for tests).
    """
    cdef int T = n_threads if n_threads >= 1 else 1
    cdef Py_ssize_t G
    cdef const floating *vals = &values[0] if values.shape[0] > 0 else NULL
    if n_rows == 0:
        return np.empty(0, dtype=np.intp), np.empty(0, dtype=np.intp), None
    hashes = _hash_rows(layout, values, indices, indptr, n_rows, n_features, T)
    if hashes is None:
        return None
    inverse_arr = np.empty(n_rows, dtype=np.intp)
    first_arr = np.empty(n_rows, dtype=np.intp)
    cdef uint64_t[::1] h = hashes
    cdef Py_ssize_t[::1] inverse = inverse_arr
    cdef Py_ssize_t[::1] first = first_arr
    if not exact_only:
        with nogil:
            G = group_by_hash(&h[0], n_rows, &inverse[0], &first[0], False, layout, vals,
                              &indices[0], &indptr[0], n_features, NULL, NULL)
        if G < 0:
            raise MemoryError("aggregate: cannot allocate the hash table")
        first_arr = first_arr[:G].copy()
        rep = _representatives(layout, values, indices, indptr, first_arr)
        if _verify(layout, values, indices, indptr, n_rows, n_features, inverse_arr,
                   first_arr, rep[0], rep[1], rep[2], T):
            return inverse_arr, first_arr, rep if layout == LAYOUT_CSR else None
    inverse_arr, first_arr = group_rows_exact(layout, values, indices, indptr, n_rows,
                                              n_features, hashes)
    rep = _representatives(layout, values, indices, indptr, first_arr)
    return inverse_arr, first_arr, rep if layout == LAYOUT_CSR else None


def _representatives(int layout, values, indices, indptr, first):
    """The first rows of the groups as compact CSR arrays (empty for dense X)."""
    if layout != LAYOUT_CSR:
        return values[:0], indices[:0], indptr[:1]
    lengths = np.asarray(indptr)[first + 1] - np.asarray(indptr)[first]
    rep_indptr = np.zeros(first.shape[0] + 1, dtype=np.asarray(indptr).dtype)
    np.cumsum(lengths, out=rep_indptr[1:])
    nnz = int(rep_indptr[first.shape[0]])
    rep_values = np.empty(nnz, dtype=np.asarray(values).dtype)
    rep_indices = np.empty(nnz, dtype=np.asarray(indices).dtype)
    _gather_csr_rows(values, indices, indptr, first, rep_values, rep_indices, rep_indptr)
    return rep_values, rep_indices, rep_indptr


def group_rows_exact(
    int layout, const floating[::1] values, const index_t[::1] indices,
    const index_t[::1] indptr, Py_ssize_t n_rows, Py_ssize_t n_features, hashes_in,
):
    """Grouping with every hash match confirmed by comparing the rows (the slow, always
    exact path behind group_rows). Returns (inverse, first)."""
    cdef uint64_t[::1] hashes = hashes_in
    inverse_arr = np.empty(n_rows, dtype=np.intp)
    first_arr = np.empty(max(n_rows, 1), dtype=np.intp)
    cdef Py_ssize_t[::1] inverse = inverse_arr
    cdef Py_ssize_t[::1] first = first_arr
    cdef const floating *vals = &values[0] if values.shape[0] > 0 else NULL
    cdef int64_t[::1] stamp = np.full(max(n_features, 1), -1, dtype=np.int64)
    cdef double[::1] mark = np.zeros(max(n_features, 1), dtype=np.float64)
    cdef Py_ssize_t n_groups
    with nogil:
        n_groups = group_by_hash(&hashes[0], n_rows, &inverse[0], &first[0], True, layout,
                                 vals, &indices[0], &indptr[0], n_features, &mark[0],
                                 &stamp[0])
    if n_groups < 0:
        raise MemoryError("aggregate: cannot allocate the hash table")
    return inverse_arr, first_arr[:n_groups].copy()
