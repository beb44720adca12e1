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
* Pass 1 (threads, GIL released): a 64-bit hash per row, the wrapping sum of
  a mixed hash of each nonzero entry, so it does not depend on entry order.
* Pass 2 (one thread): open addressing over those hashes (each slot keeps the
  hash beside the group, so a probe is one memory access, and the slots of
  rows a little ahead are prefetched); rows whose hashes match are compared
  exactly, so a hash collision can never merge two different rows. Groups
  are numbered in order of first appearance.
Memory: O(n_rows) (hashes, the table, the result) plus O(n_features) scratch
for comparing sparse rows; X is never copied or densified.
"""

import numpy as np

from cython.parallel cimport prange
from libc.stdint cimport int64_t, uint64_t
from libc.string cimport memcpy

from fastlogit._kernels cimport floating, index_t
from fastlogit._rows cimport LAYOUT_C, LAYOUT_CSR

cdef extern from *:
    """
    #if defined(__GNUC__) || defined(__clang__)
    #define FL_PREFETCH(p) __builtin_prefetch((const void *)(p))
    #else
    #define FL_PREFETCH(p) ((void)0)
    #endif
    """
    void FL_PREFETCH(const void *p) noexcept nogil

# Pass 2 is a chain of dependent random reads per row: its hash-table slot,
# then (for a repeated row) the group's first row, its CSR extent, and that
# row's entries, each a memory round trip on a table far larger than the
# caches. A staged prefetch keeps several rows' reads in flight: the slot of
# row i + 16, the first-row entry of row i + 8's group (its slot is cached by
# then), the CSR extent of row i + 4's representative and the entries of row
# i + 2's. A wrong guess (a probe past the first slot) costs nothing but the
# prefetch.
cdef enum:
    AHEAD_SLOT = 16
    AHEAD_FIRST = 8
    AHEAD_EXTENT = 4
    AHEAD_ENTRIES = 2


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


cdef bint equal_rows_csr(
    const floating *data, const index_t *indices, const index_t *indptr,
    Py_ssize_t r, Py_ssize_t s, double *mark, int64_t *stamp, int64_t tag,
) noexcept nogil:
    """Rows r and s hold the same nonzero entries (in any order)."""
    cdef Py_ssize_t jj, count_r = 0, count_s = 0
    for jj in range(indptr[r], indptr[r + 1]):
        if data[jj] != 0:
            stamp[indices[jj]] = tag
            mark[indices[jj]] = data[jj]
            count_r += 1
    for jj in range(indptr[s], indptr[s + 1]):
        if data[jj] != 0:
            if stamp[indices[jj]] != tag or mark[indices[jj]] != data[jj]:
                return False
            count_s += 1
    return count_r == count_s  # no repeated columns, so equal counts mean equal sets


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


cdef inline Py_ssize_t guess_first(
    const uint64_t *table, uint64_t mask, const uint64_t *hashes, const Py_ssize_t *first,
    Py_ssize_t i,
) noexcept nogil:
    """The first row of row i's group if its hash sits in its home slot, else -1."""
    cdef Py_ssize_t slot = <Py_ssize_t> (hashes[i] & mask)
    cdef Py_ssize_t g = <Py_ssize_t> table[2 * slot] - 1
    if g < 0 or table[2 * slot + 1] != hashes[i]:
        return -1
    return first[g]


cdef inline void prefetch_representative(
    const uint64_t *table, uint64_t mask, const uint64_t *hashes, const Py_ssize_t *first,
    const index_t *indptr, const floating *data, const index_t *indices, Py_ssize_t i,
) noexcept nogil:
    """The staged prefetches of pass 2 (see AHEAD_*) issued while at row i."""
    cdef Py_ssize_t slot, g, r
    slot = <Py_ssize_t> (hashes[i + AHEAD_FIRST] & mask)
    g = <Py_ssize_t> table[2 * slot] - 1
    if g >= 0:
        FL_PREFETCH(&first[g])
    r = guess_first(table, mask, hashes, first, i + AHEAD_EXTENT)
    if r >= 0:
        FL_PREFETCH(&indptr[r])
    r = guess_first(table, mask, hashes, first, i + AHEAD_ENTRIES)
    if r >= 0:
        FL_PREFETCH(&indices[indptr[r]])
        FL_PREFETCH(&data[indptr[r]])


def group_rows(
    int layout, const floating[::1] values, const index_t[::1] indices,
    const index_t[::1] indptr, Py_ssize_t n_rows, Py_ssize_t n_features, int n_threads,
):
    """Number the distinct rows of X.

    Returns (inverse, first, n_groups): inverse[i] is the group of row i,
    first[g] the first row of group g (groups in order of first appearance);
    or None when a CSR row repeats a column index (canonicalise and retry).
    """
    cdef Py_ssize_t p = n_features, i, slot, g, n_groups = 0
    cdef Py_ssize_t size = 1
    while size < 2 * n_rows:
        size *= 2
    cdef uint64_t mask = <uint64_t> (size - 1)
    hashes_arr = np.empty(max(n_rows, 1), dtype=np.uint64)
    inverse_arr = np.empty(n_rows, dtype=np.intp)
    first_arr = np.empty(max(n_rows, 1), dtype=np.intp)
    # slot s: table[2s] = group + 1 (0 = empty), table[2s + 1] = that group's hash
    table_arr = np.zeros(2 * size, dtype=np.uint64)
    cdef uint64_t[::1] hashes = hashes_arr
    cdef Py_ssize_t[::1] inverse = inverse_arr
    cdef Py_ssize_t[::1] first = first_arr
    cdef uint64_t[::1] table = table_arr
    cdef const floating *vals = &values[0] if values.shape[0] > 0 else NULL
    cdef Py_ssize_t stride = 1 if layout == LAYOUT_C else n_rows
    cdef int T = n_threads if n_threads >= 1 else 1
    cdef int64_t[:, ::1] stamps = np.full((T, max(p, 1)), -1, dtype=np.int64)
    cdef double[::1] mark = np.zeros(max(p, 1), dtype=np.float64)
    cdef int64_t[::1] repeated = np.zeros(T, dtype=np.int64)
    cdef int t
    cdef Py_ssize_t chunk = (n_rows + T - 1) // T if n_rows > 0 else 1
    cdef Py_ssize_t r0, r1
    cdef int64_t tag = 0
    cdef bint same

    if n_rows == 0:
        return inverse_arr, first_arr[:0], 0
    with nogil:
        # pass 1: row hashes, rows split statically between threads
        for t in prange(T, schedule="static", chunksize=1, num_threads=T):
            r0 = t * chunk
            r1 = r0 + chunk if r0 + chunk < n_rows else n_rows
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
    with nogil:
        # pass 2: open addressing; equal hashes are confirmed by comparing the rows
        for i in range(p):
            stamps[0, i] = -1
        for i in range(n_rows):
            if i + AHEAD_SLOT < n_rows:
                FL_PREFETCH(&table[2 * <Py_ssize_t> (hashes[i + AHEAD_SLOT] & mask)])
            if layout == LAYOUT_CSR and i + AHEAD_FIRST < n_rows:
                prefetch_representative(&table[0], mask, &hashes[0], &first[0], &indptr[0],
                                        vals, &indices[0], i)
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
                if table[2 * slot + 1] == hashes[i]:
                    if layout == LAYOUT_CSR:
                        tag += 1
                        same = equal_rows_csr(vals, &indices[0], &indptr[0], first[g], i,
                                              &mark[0], &stamps[0, 0], tag)
                    else:
                        same = equal_rows_dense(vals, layout, n_rows, p, first[g], i)
                    if same:
                        inverse[i] = g
                        break
                slot = (slot + 1) & <Py_ssize_t> mask
    return inverse_arr, first_arr[:n_groups].copy(), n_groups
