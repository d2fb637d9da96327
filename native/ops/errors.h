// The kinds of error the native core raises beyond the standard ones, so the binding maps each to its RnnError code
// by kind (binding/guard.h) instead of by where it was thrown. std::invalid_argument stays "this shape or value does
// not fit" (SHAPE for layer and batch shapes).
#pragma once

#include <stdexcept>

namespace rnnkit::ops {

// An object used out of order or in a state that does not allow the call (backward before forward, training an
// uncompiled network): RnnError STATE.
class StateError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

// An option or argument outside its allowed range (a negative penalty factor, zero threads): RnnError ARGUMENT.
class ArgumentError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

}  // namespace rnnkit::ops
