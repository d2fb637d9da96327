#include "kernels/packed_product.h"

#include <algorithm>
#include <stdexcept>

namespace rnnkit::kernels {
namespace {

namespace ei = Eigen::internal;
using Index = Eigen::Index;

template <typename T>
using RowMajorMatrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <typename T>
using StridedMap = Eigen::Map<RowMajorMatrix<T>, Eigen::Unaligned, Eigen::OuterStride<>>;
template <typename T>
using ConstStridedMap = Eigen::Map<const RowMajorMatrix<T>, Eigen::Unaligned, Eigen::OuterStride<>>;

// Eigen computes a row-major C = A * W as the column-major C^T = W^T * A^T. In those terms the packed "lhs" is
// W^T [width, depth] and the per-step "rhs" is A^T [depth, rows]. These are the blocking sizes Eigen picks for
// that product (dest row-major, rows x width, inner dimension depth, one thread).
template <typename T>
struct Blocking {
  Index kc, mc, nc;
  Blocking(Index rows, Index width, Index depth) {
    ei::gemm_blocking_space<Eigen::RowMajor, T, T, Eigen::Dynamic, Eigen::Dynamic, Eigen::Dynamic> space(
        rows, width, depth, 1, true);
    kc = space.kc();
    mc = std::min<Index>(width, space.mc());
    nc = std::min<Index>(rows, space.nc());
  }
};

template <typename T, int StorageOrder>
void packWeights(const T* weights, Index leadingDimension, Index depth, Index width, Index kc, Index mc,
                 T* packed) {
  using Traits = ei::gebp_traits<T, T>;
  using Mapper = ei::const_blas_data_mapper<T, Index, StorageOrder>;
  ei::gemm_pack_lhs<T, Index, Mapper, Traits::mr, Traits::LhsProgress, typename Traits::LhsPacket4Packing,
                    StorageOrder>
      pack;
  const Mapper lhs(weights, leadingDimension);
  for (Index i2 = 0; i2 < width; i2 += mc) {
    const Index blockRows = std::min(i2 + mc, width) - i2;
    for (Index k2 = 0; k2 < depth; k2 += kc) {
      const Index blockDepth = std::min(k2 + kc, depth) - k2;
      pack(packed + i2 * depth + k2 * blockRows, lhs.getSubMapper(i2, k2), blockDepth, blockRows);
    }
  }
}

}  // namespace

template <typename T>
void PackedProduct<T>::bind(const T* weights, int64_t leadingDimension, bool transposed, int64_t depth,
                            int64_t width, int64_t maxRows) {
  if (!weights || depth <= 0 || width <= 0 || maxRows <= 0 || leadingDimension < (transposed ? depth : width)) {
    throw std::invalid_argument("PackedProduct::bind: inconsistent operand sizes");
  }
  weights_ = weights;
  leadingDimension_ = leadingDimension;
  transposed_ = transposed;
  depth_ = depth;
  width_ = width;
  maxRows_ = maxRows;
  packedKc_ = packedMc_ = 0;
  if (packedWeights_.size() < static_cast<size_t>(depth * width)) packedWeights_.resize(depth * width);
  if (packedRows_.size() < static_cast<size_t>(depth * maxRows)) packedRows_.resize(depth * maxRows);
}

// The cases Eigen does not send to its blocked GEMM (see generic_product_impl<..., GemmProduct>).
template <typename T>
bool PackedProduct<T>::usesPlainEigen(int64_t rows) const {
  return rows == 1 || width_ == 1 || depth_ + rows + width_ < EIGEN_GEMM_TO_COEFFBASED_THRESHOLD;
}

template <typename T>
void PackedProduct<T>::plainEigen(const T* a, int64_t lda, int64_t rows, T* c, int64_t ldc, bool add) const {
  ConstStridedMap<T> A(a, rows, depth_, Eigen::OuterStride<>(lda));
  StridedMap<T> C(c, rows, width_, Eigen::OuterStride<>(ldc));
  if (transposed_) {
    ConstStridedMap<T> V(weights_, width_, depth_, Eigen::OuterStride<>(leadingDimension_));
    if (add) C.noalias() += A * V.transpose();
    else C.noalias() = A * V.transpose();
  } else {
    ConstStridedMap<T> W(weights_, depth_, width_, Eigen::OuterStride<>(leadingDimension_));
    if (add) C.noalias() += A * W;
    else C.noalias() = A * W;
  }
}

template <typename T>
void PackedProduct<T>::ensurePacked(int64_t kc, int64_t mc) {
  if (kc == packedKc_ && mc == packedMc_) return;
  if (transposed_) {
    packWeights<T, Eigen::RowMajor>(weights_, leadingDimension_, depth_, width_, kc, mc, packedWeights_.data());
  } else {
    packWeights<T, Eigen::ColMajor>(weights_, leadingDimension_, depth_, width_, kc, mc, packedWeights_.data());
  }
  packedKc_ = kc;
  packedMc_ = mc;
}

// Eigen's sequential GEMM loop with the lhs packing replaced by the packed W.
template <typename T>
void PackedProduct<T>::blockedMultiplyAdd(const T* a, int64_t lda, int64_t rows, T* c, int64_t ldc, int64_t kc,
                                          int64_t mc, int64_t nc) {
  using Traits = ei::gebp_traits<T, T>;
  using RhsMapper = ei::const_blas_data_mapper<T, Index, Eigen::ColMajor>;
  using ResMapper = ei::blas_data_mapper<T, Index, Eigen::ColMajor, Eigen::Unaligned, 1>;
  ei::gemm_pack_rhs<T, Index, RhsMapper, Traits::nr, Eigen::ColMajor> packRhs;
  ei::gebp_kernel<T, T, Index, ResMapper, Traits::mr, Traits::nr, false, false> gebp;
  const RhsMapper rhs(a, lda);
  const ResMapper res(c, ldc);
  const bool packRhsOnce = mc != width_ && kc == depth_ && nc == rows;
  T* blockB = packedRows_.data();
  for (Index i2 = 0; i2 < width_; i2 += mc) {
    const Index blockRows = std::min<Index>(i2 + mc, width_) - i2;
    for (Index k2 = 0; k2 < depth_; k2 += kc) {
      const Index blockDepth = std::min<Index>(k2 + kc, depth_) - k2;
      const T* blockA = packedWeights_.data() + i2 * depth_ + k2 * blockRows;
      for (Index j2 = 0; j2 < rows; j2 += nc) {
        const Index blockCols = std::min<Index>(j2 + nc, rows) - j2;
        if (!packRhsOnce || i2 == 0) packRhs(blockB, rhs.getSubMapper(k2, j2), blockDepth, blockCols);
        gebp(res.getSubMapper(i2, j2), blockA, blockB, blockRows, blockDepth, blockCols, T(1));
      }
    }
  }
}

template <typename T>
void PackedProduct<T>::multiply(const T* a, int64_t lda, int64_t rows, T* c, int64_t ldc, bool add) {
  if (rows <= 0) return;
  if (rows > maxRows_) throw std::invalid_argument("PackedProduct: more rows than bound");
  if (usesPlainEigen(rows)) {
    plainEigen(a, lda, rows, c, ldc, add);
    return;
  }
  // As Eigen does for `C = A * W`: zero, then accumulate.
  if (!add) StridedMap<T>(c, rows, width_, Eigen::OuterStride<>(ldc)).setZero();
  const Blocking<T> blocking(rows, width_, depth_);
  ensurePacked(blocking.kc, blocking.mc);
  blockedMultiplyAdd(a, lda, rows, c, ldc, blocking.kc, blocking.mc, blocking.nc);
}

template <typename T>
void PackedProduct<T>::multiplyAdd(const T* a, int64_t lda, int64_t rows, T* c, int64_t ldc) {
  multiply(a, lda, rows, c, ldc, true);
}

template <typename T>
void PackedProduct<T>::multiplyAssign(const T* a, int64_t lda, int64_t rows, T* c, int64_t ldc) {
  multiply(a, lda, rows, c, ldc, false);
}

template class PackedProduct<float>;
template class PackedProduct<double>;

}  // namespace rnnkit::kernels
