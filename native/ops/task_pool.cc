#include "ops/task_pool.h"

#include <algorithm>
#include <exception>

namespace rnnkit::ops {

TaskPool& TaskPool::shared() {
  // Never destroyed: at process exit (process.exit() in the middle of fit) a batch may still be running on a libuv
  // thread, and destroying the pool under it would crash the exit. Idle workers just end with the process.
  static TaskPool* pool = new TaskPool();
  return *pool;
}

void TaskPool::ensureWorkers(size_t helpers) {
  std::lock_guard<std::mutex> lock(mutex_);
  while (workers_.size() < helpers) workers_.emplace_back([this] { workerLoop(); });
}

void TaskPool::workerLoop() {
  size_t seen = 0;
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    wake_.wait(lock, [&] {
      return active_ && generation_ != seen && helpersJoined_ < helpersAllowed_;
    });
    seen = generation_;
    ++helpersJoined_;
    ++helpersInside_;
    lock.unlock();
    drain();
    lock.lock();
    if (--helpersInside_ == 0) finished_.notify_all();
  }
}

void TaskPool::drain() {
  for (;;) {
    size_t index;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (nextTask_ >= taskCount_) return;
      index = nextTask_++;
    }
    std::exception_ptr error;
    try {
      (*task_)(index);
    } catch (...) {
      error = std::current_exception();
    }
    std::lock_guard<std::mutex> lock(mutex_);
    if (error) errors_[index] = error;
    if (++tasksDone_ == taskCount_) finished_.notify_all();
  }
}

void TaskPool::run(size_t count, size_t helpers, const std::function<void(size_t)>& task) {
  std::vector<std::exception_ptr> errors(count);
  std::unique_lock<std::mutex> runLock(runMutex_, std::defer_lock);
  helpers = std::min(helpers, count > 0 ? count - 1 : 0);
  if (helpers == 0 || !runLock.try_lock()) {
    for (size_t index = 0; index < count; ++index) {
      try {
        task(index);
      } catch (...) {
        errors[index] = std::current_exception();
      }
    }
  } else {
    ensureWorkers(helpers);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      task_ = &task;
      taskCount_ = count;
      nextTask_ = tasksDone_ = 0;
      errors_.assign(count, nullptr);
      helpersAllowed_ = helpers;
      helpersJoined_ = 0;
      ++generation_;
      active_ = true;
    }
    wake_.notify_all();
    drain();
    std::unique_lock<std::mutex> lock(mutex_);
    // Waits only for tasks that are running: a worker that has not woken up yet will find the job closed.
    finished_.wait(lock, [&] { return tasksDone_ == taskCount_ && helpersInside_ == 0; });
    active_ = false;
    task_ = nullptr;
    errors.swap(errors_);
  }
  for (const std::exception_ptr& error : errors) {
    if (error) std::rethrow_exception(error);
  }
}

}  // namespace rnnkit::ops
