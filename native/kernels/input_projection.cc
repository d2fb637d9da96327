#include "kernels/input_projection.h"

#include <Eigen/Core>

#include "kernels/cell_maps.h"

namespace rnnkit::kernels {

using namespace cellmaps;

template <typename T>
void projectInputs(const T* x, int64_t rows, int64_t depth, const T* kernel, int64_t width, const T* bias, T* z) {
  MatrixMap<T> Z(z, rows, width);
  ConstMatrixMap<T> X(x, rows, depth), W(kernel, depth, width);
  // The shapes Eigen's blocked GEMM handles (not GEMV, not its coefficient-based small product) in one depth block.
  const bool blocked = rows > 1 && width > 1 && depth + rows + width >= EIGEN_GEMM_TO_COEFFBASED_THRESHOLD;
  const bool oneDepthBlock =
      blocked && Eigen::internal::gemm_blocking_space<Eigen::RowMajor, T, T, Eigen::Dynamic, Eigen::Dynamic,
                                                      Eigen::Dynamic>(rows, width, depth, 1, true)
                         .kc() >= depth;
  if (bias && oneDepthBlock) {
    Z.rowwise() = ConstRowVectorMap<T>(bias, width);
    Z.noalias() += X * W;
    return;
  }
  Z.noalias() = X * W;
  if (bias) Z.rowwise() += ConstRowVectorMap<T>(bias, width);
}

template void projectInputs<float>(const float*, int64_t, int64_t, const float*, int64_t, const float*, float*);
template void projectInputs<double>(const double*, int64_t, int64_t, const double*, int64_t, const double*, double*);

}  // namespace rnnkit::kernels
