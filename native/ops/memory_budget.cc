#include "ops/memory_budget.h"

#include <algorithm>
#include <stdexcept>

#if defined(__unix__) || defined(__APPLE__)
#include <sys/resource.h>
#include <unistd.h>
#endif

#include "ops/layer.h"

namespace rnnkit::ops {

namespace {

int64_t computeBudget() {
  // Without a way to ask (other platforms), 4 GiB: more than any model rnnkit is meant for needs.
  int64_t budget = int64_t{4} << 30;
#if defined(__unix__) || defined(__APPLE__)
  const long pages = sysconf(_SC_PHYS_PAGES), pageSize = sysconf(_SC_PAGESIZE);
  if (pages > 0 && pageSize > 0) budget = static_cast<int64_t>(pages) * pageSize / 2;
  struct rlimit limit;
  if (getrlimit(RLIMIT_AS, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
    budget = std::min<int64_t>(budget, static_cast<int64_t>(limit.rlim_cur / 2));
  }
#endif
  return budget;
}

}  // namespace

int64_t allocationBudgetBytes() {
  static const int64_t budget = computeBudget();
  return budget;
}

void checkAllocation(double bytes, const std::string& what) {
  const int64_t budget = allocationBudgetBytes();
  if (bytes > static_cast<double>(budget)) {
    throw std::length_error(what + " asks for " + countToString(bytes) + " bytes, more than the " +
                            countToString(static_cast<double>(budget)) +
                            " bytes one network may use here (half the physical memory, within RLIMIT_AS)");
  }
}

}  // namespace rnnkit::ops
