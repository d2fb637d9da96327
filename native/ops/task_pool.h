// A process-wide set of worker threads for coarse-grained parallel work (the shards of a batch).
//
// run(count, task) hands task indices 0..count-1 out from a shared counter to the calling thread and up to
// `helpers` workers, and returns when every task has finished. The second core of the machines rnnkit targets is
// often busy, so:
//   - workers sleep on a condition variable between jobs (a spinning pool collapses when its core is taken);
//   - tasks are claimed, not assigned: a worker that is descheduled simply takes fewer of them, and the caller
//     never waits for a worker that has not started (it only waits for tasks that are running);
//   - which thread runs a task never changes what it computes, so results do not depend on scheduling.
// A run() that finds the pool in use by another caller (two models training at once) runs its tasks inline.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace rnnkit::ops {

class TaskPool {
 public:
  static TaskPool& shared();

  // Runs task(0) .. task(count - 1) on this thread and up to `helpers` workers (started on first use and kept).
  // Rethrows the error of the lowest failing task index after all tasks have ended.
  void run(size_t count, size_t helpers, const std::function<void(size_t)>& task);

 private:
  void ensureWorkers(size_t helpers);
  void workerLoop();
  // Claims and runs tasks of the current job until none is left.
  void drain();

  std::mutex runMutex_;  // one job at a time; a second caller runs inline

  std::mutex mutex_;  // guards everything below
  std::condition_variable wake_, finished_;
  std::vector<std::thread> workers_;  // detached in effect: the shared pool lives until the process ends
  bool active_ = false;       // a job is open for workers to join
  size_t generation_ = 0;     // bumped per job so a worker joins each job at most once
  size_t helpersAllowed_ = 0;
  size_t helpersJoined_ = 0;  // workers that joined the current job
  size_t helpersInside_ = 0;  // workers still inside drain() for the current job
  size_t nextTask_ = 0, taskCount_ = 0, tasksDone_ = 0;
  const std::function<void(size_t)>* task_ = nullptr;
  std::vector<std::exception_ptr> errors_;
};

}  // namespace rnnkit::ops
