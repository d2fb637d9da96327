// How much memory one network may ask for, checked before anything is allocated. A shape read from a request or a
// file can ask for terabytes; on Linux such an allocation may even succeed (overcommit) and the process dies later,
// from the OOM killer, far from the cause. So a request is refused up front, with a message saying how much it asked.
#pragma once

#include <cstdint>
#include <string>

namespace rnnkit::ops {

// The bytes this process may reasonably allocate: half the machine's physical memory, lowered to the address-space
// limit (RLIMIT_AS) when one is set. Computed once.
int64_t allocationBudgetBytes();

// Throws std::length_error naming `what` and both sizes when `bytes` exceeds allocationBudgetBytes().
void checkAllocation(double bytes, const std::string& what);

}  // namespace rnnkit::ops
