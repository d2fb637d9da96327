// firstNonFinite finds the first NaN / +-Infinity wherever it sits relative to its 4096-value blocks, and passes
// every finite float, including the extremes (largest, smallest normal, denormals, -0).
#include <cmath>
#include <limits>
#include <vector>

#include "harness.h"
#include "kernels/finite_scan.h"

namespace {

using rnnkit::kernels::firstNonFinite;
using Limits = std::numeric_limits<float>;

RNNKIT_TEST("finite scan: every finite extreme passes, an empty range finds nothing") {
  std::vector<float> values = {Limits::max(), -Limits::max(), Limits::min(), Limits::denorm_min(), -0.0f, 0.0f, 1.0f};
  values.resize(9000, 0.5f);
  RNNKIT_CHECK(firstNonFinite(values.data(), static_cast<int64_t>(values.size())) == -1, "a finite value was flagged");
  RNNKIT_CHECK(firstNonFinite(values.data(), 0) == -1, "an empty range found something");
}

RNNKIT_TEST("finite scan: the first NaN or infinity, at block edges and with later ones present") {
  const float bad[] = {Limits::quiet_NaN(), -Limits::quiet_NaN(), Limits::infinity(), -Limits::infinity(),
                       Limits::signaling_NaN()};
  const int64_t count = 3 * 4096 + 17;
  for (float value : bad) {
    for (int64_t position : {int64_t{0}, int64_t{1}, int64_t{4095}, int64_t{4096}, int64_t{8191}, count - 1}) {
      std::vector<float> values(count, -2.5f);
      values[position] = value;
      if (position + 5 < count) values[position + 5] = Limits::infinity();  // a later one must not win
      const int64_t found = firstNonFinite(values.data(), count);
      RNNKIT_CHECK(found == position, "value " << value << " at " << position << " found at " << found);
      // The same value just past a shorter range is not seen.
      RNNKIT_CHECK(firstNonFinite(values.data(), position) == -1, "found past the range end at " << position);
    }
  }
}

}  // namespace
