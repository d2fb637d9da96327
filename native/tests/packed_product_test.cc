// PackedProduct must give exactly (bit for bit) what Eigen's own product gives for the same operands, so that
// packing the recurrent kernel once per sequence changes speed and nothing else. Shapes cover the workloads'
// recurrent products, remainders of Eigen's panel sizes, strided operands (the GRU's column blocks), the
// transposed (backward) form, the one-row and tiny cases Eigen sends to other paths, and a row count that
// changes between calls (repacking).
#include <cstring>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "harness.h"
#include "kernels/packed_product.h"

namespace {

using rnnkit::kernels::PackedProduct;
using rnnkit::tests::randomOf;

template <typename T>
using RowMajor = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <typename T>
using Strided = Eigen::Map<RowMajor<T>, Eigen::Unaligned, Eigen::OuterStride<>>;

// C (+)= A * W (or A * V^T) through PackedProduct and through Eigen; W/V may be a column block of a wider matrix.
template <typename T>
void expectIdentical(int64_t rows, int64_t depth, int64_t width, bool transposed, int64_t extraColumns, bool add) {
  const std::string what = std::string(sizeof(T) == 4 ? "float" : "double") + " rows " + std::to_string(rows) +
                           " depth " + std::to_string(depth) + " width " + std::to_string(width) +
                           (transposed ? " transposed" : "") + (add ? " +=" : " =") +
                           (extraColumns ? " strided" : "");
  const int64_t weightRows = transposed ? width : depth, weightCols = (transposed ? depth : width) + extraColumns;
  const std::vector<T> weights = randomOf<T>(weightRows * weightCols, 11);
  const int64_t cStride = width + extraColumns;
  const std::vector<T> a = randomOf<T>(rows * depth, 12), c0 = randomOf<T>(rows * cStride, 13);

  std::vector<T> expected = c0;
  Eigen::Map<const RowMajor<T>> A(a.data(), rows, depth);
  Strided<T> C(expected.data(), rows, width, Eigen::OuterStride<>(cStride));
  Eigen::Map<const RowMajor<T>> full(weights.data(), weightRows, weightCols);
  if (transposed) {
    if (add) C.noalias() += A * full.leftCols(depth).transpose();
    else C.noalias() = A * full.leftCols(depth).transpose();
  } else {
    if (add) C.noalias() += A * full.leftCols(width);
    else C.noalias() = A * full.leftCols(width);
  }

  PackedProduct<T> packed;
  packed.bind(weights.data(), weightCols, transposed, depth, width, rows);
  for (int repeat = 0; repeat < 2; ++repeat) {  // the second call reuses the packed weights
    std::vector<T> actual = c0;
    if (add) packed.multiplyAdd(a.data(), depth, rows, actual.data(), cStride);
    else packed.multiplyAssign(a.data(), depth, rows, actual.data(), cStride);
    RNNKIT_CHECK(std::memcmp(actual.data(), expected.data(), sizeof(T) * actual.size()) == 0,
                 what << ": differs from Eigen's product (call " << repeat + 1 << ")");
  }
}

struct Case {
  int64_t rows, depth, width;
};

const Case kCases[] = {
    {32, 128, 512},  {32, 256, 1024}, {64, 128, 384}, {64, 128, 256}, {32, 512, 128},  {256, 128, 512},
    {37, 129, 515},  {5, 7, 29},      {1, 128, 512},  {3, 2, 8},      {2, 300, 1},     {17, 1000, 24},
};

RNNKIT_TEST("packed product: bit-identical to Eigen's product for forward and backward shapes") {
  for (const Case& k : kCases) {
    for (bool transposed : {false, true}) {
      for (bool add : {true, false}) {
        expectIdentical<float>(k.rows, k.depth, k.width, transposed, 0, add);
        expectIdentical<double>(k.rows, k.depth, k.width, transposed, 0, add);
      }
    }
  }
}

RNNKIT_TEST("packed product: bit-identical on column blocks of a wider matrix (GRU gate blocks)") {
  expectIdentical<float>(64, 128, 256, false, 128, true);
  expectIdentical<float>(64, 128, 128, false, 256, false);
  expectIdentical<float>(64, 256, 128, true, 128, true);
  expectIdentical<double>(9, 20, 40, true, 20, false);
}

RNNKIT_TEST("packed product: a changing row count repacks and stays identical") {
  const int64_t depth = 128, width = 512;
  const std::vector<float> w = randomOf<float>(depth * width, 21), a = randomOf<float>(256 * depth, 22);
  PackedProduct<float> packed;
  packed.bind(w.data(), width, false, depth, width, 256);
  for (int64_t rows : {256, 32, 1, 7, 256, 100}) {
    std::vector<float> actual(rows * width, 0.5f), expected(rows * width, 0.5f);
    Eigen::Map<RowMajor<float>>(expected.data(), rows, width).noalias() +=
        Eigen::Map<const RowMajor<float>>(a.data(), rows, depth) *
        Eigen::Map<const RowMajor<float>>(w.data(), depth, width);
    packed.multiplyAdd(a.data(), depth, rows, actual.data(), width);
    RNNKIT_CHECK(std::memcmp(actual.data(), expected.data(), sizeof(float) * actual.size()) == 0,
                 "rows " << rows << ": differs from Eigen's product");
  }
}

}  // namespace
