// TaskPool: every task runs exactly once whatever the helper count, errors come back after all tasks ended (the
// lowest failing index wins), and two callers at once both complete (the second runs inline).
#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"
#include "ops/task_pool.h"

namespace {

using rnnkit::ops::TaskPool;

RNNKIT_TEST("task pool: each task runs exactly once for any helper count") {
  for (size_t helpers : {0, 1, 3}) {
    for (size_t count : {1, 2, 5, 16}) {
      std::vector<std::atomic<int>> runs(count);
      TaskPool::shared().run(count, helpers, [&](size_t index) { runs[index]++; });
      for (size_t i = 0; i < count; ++i) {
        RNNKIT_CHECK(runs[i] == 1, "helpers " << helpers << ", count " << count << ": task " << i << " ran "
                                              << runs[i] << " times");
      }
    }
  }
}

RNNKIT_TEST("task pool: the lowest failing task's error is rethrown after every task ended") {
  std::atomic<int> finished{0};
  std::string message;
  try {
    TaskPool::shared().run(6, 1, [&](size_t index) {
      finished++;
      if (index == 4 || index == 2) throw std::invalid_argument("task " + std::to_string(index));
    });
  } catch (const std::invalid_argument& e) {
    message = e.what();
  }
  RNNKIT_CHECK(message == "task 2", "expected the error of task 2 but received '" << message << "'");
  RNNKIT_CHECK(finished == 6, "expected all 6 tasks to run but " << finished.load() << " did");
}

RNNKIT_TEST("task pool: two callers at once both complete") {
  std::vector<std::atomic<int>> a(8), b(8);
  std::thread other([&] {
    for (int repeat = 0; repeat < 50; ++repeat) TaskPool::shared().run(8, 1, [&](size_t i) { b[i]++; });
  });
  for (int repeat = 0; repeat < 50; ++repeat) TaskPool::shared().run(8, 1, [&](size_t i) { a[i]++; });
  other.join();
  for (size_t i = 0; i < 8; ++i) {
    RNNKIT_CHECK(a[i] == 50 && b[i] == 50, "task " << i << " ran " << a[i] << " and " << b[i] << " times, expected 50");
  }
}

}  // namespace
