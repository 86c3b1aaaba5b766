# What _topk and _exact cimport from _order (Cython in pure Python mode: _order.py holds
# the code; compiled, this file gives the types it declares, see _order.py).

#: The working precision of the tiles and candidate lists (the training set's dtype).
ctypedef fused floating:
    float
    double

ctypedef Py_ssize_t intp

cdef void insert(double[:] values, intp[:] indices, double v, intp j) noexcept nogil
cdef floating keep_smallest(floating[:] values, intp[:] indices, intp n, intp keep) noexcept nogil
cdef intp gather(const floating[:, :] cand_values, const intp[:, :] cand_indices, intp i,
                 double[:] vals, intp[:] idx) noexcept nogil
cpdef void write_top(double[:] vals, intp[:] idx, intp m, intp k, double[:, :] out_dist,
                     intp[:, :] out_idx, intp i) noexcept nogil
