// projectInputs must equal the two-step `Z = X W; Z += b` bit for bit on every path (fused bias, deep inputs that
// span several of Eigen's depth blocks, one row, one column, tiny shapes), so that it only saves memory passes.
#include <cstring>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "harness.h"
#include "kernels/input_projection.h"

namespace {

using rnnkit::kernels::projectInputs;
using rnnkit::tests::randomOf;

template <typename T>
using RowMajor = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

template <typename T>
void expectTwoStepResult(int64_t rows, int64_t depth, int64_t width, bool withBias) {
  const std::vector<T> x = randomOf<T>(rows * depth, 31), w = randomOf<T>(depth * width, 32),
                       b = randomOf<T>(width, 33, 3.0);
  std::vector<T> expected(rows * width), actual(rows * width, T(7));
  Eigen::Map<RowMajor<T>> E(expected.data(), rows, width);
  E.noalias() = Eigen::Map<const RowMajor<T>>(x.data(), rows, depth) * Eigen::Map<const RowMajor<T>>(w.data(), depth, width);
  if (withBias) E.rowwise() += Eigen::Map<const Eigen::Matrix<T, 1, Eigen::Dynamic>>(b.data(), width);
  projectInputs(x.data(), rows, depth, w.data(), width, withBias ? b.data() : nullptr, actual.data());
  RNNKIT_CHECK(std::memcmp(actual.data(), expected.data(), sizeof(T) * actual.size()) == 0,
               (sizeof(T) == 4 ? "float" : "double") << " rows " << rows << " depth " << depth << " width " << width
                                                     << (withBias ? " with bias" : "") << ": differs from X W + b");
}

RNNKIT_TEST("input projection: bit-identical to X W + b on every GEMM path") {
  const int64_t shapes[][3] = {{896, 28, 512}, {8192, 64, 1024}, {6400, 32, 384}, {37, 29, 515}, {64, 700, 128},
                               {1, 28, 512},   {50, 3, 1},       {3, 2, 4},       {5, 300, 17}};
  for (const auto& s : shapes) {
    for (bool withBias : {true, false}) {
      expectTwoStepResult<float>(s[0], s[1], s[2], withBias);
      expectTwoStepResult<double>(s[0], s[1], s[2], withBias);
    }
  }
}

}  // namespace
