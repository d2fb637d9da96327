// The one place where C++ exceptions become JS errors. node-addon-api turns a thrown Napi::Error into a JS exception
// but lets any other C++ exception unwind into Node, which ends the process (std::terminate). Every binding entry runs
// its body through guarded(), which maps each exception to an error with a stable RnnError code:
//   std::bad_alloc, std::length_error -> MEMORY (an allocation failed, or was too large to try; ops/memory_budget.h)
//   ops::NonFiniteStep                -> NOT_FINITE (the step was rolled back)
//   ops::ArgumentError                -> ARGUMENT (an option out of range; ops/errors.h)
//   std::invalid_argument             -> the caller's code (SHAPE for layer and batch shapes, ARGUMENT for options)
//   std::out_of_range                 -> ARGUMENT
//   ops::StateError, other logic_error -> STATE (e.g. training an uncompiled network, backward before forward)
//   anything else                     -> NATIVE
#pragma once

#include <napi.h>

#include <exception>
#include <new>
#include <stdexcept>
#include <string>

#include "binding/convert.h"
#include "ops/errors.h"
#include "ops/network.h"

namespace rnnkit::binding {

// The code and message an exception becomes (for errors that travel as data, e.g. from a worker thread).
struct ErrorData {
  std::string code, message;
};

inline ErrorData describeException(std::exception_ptr error, const char* invalidArgumentCode) {
  try {
    std::rethrow_exception(error);
  } catch (const std::bad_alloc&) {
    return {"MEMORY", "Out of memory: an allocation of the native core failed"};
  } catch (const std::length_error& e) {
    return {"MEMORY", e.what()};
  } catch (const ops::NonFiniteStep& e) {
    return {"NOT_FINITE", e.what()};
  } catch (const ops::ArgumentError& e) {
    return {"ARGUMENT", e.what()};
  } catch (const std::invalid_argument& e) {
    return {invalidArgumentCode, e.what()};
  } catch (const std::out_of_range& e) {
    return {"ARGUMENT", e.what()};
  } catch (const std::logic_error& e) {
    return {"STATE", e.what()};
  } catch (const std::exception& e) {
    return {"NATIVE", e.what()};
  } catch (...) {
    return {"NATIVE", "The native core raised an exception that is not a std::exception"};
  }
}

template <typename Body>
auto guarded(Napi::Env env, const char* invalidArgumentCode, Body&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const Napi::Error&) {
    throw;  // already a JS error (Napi::Error derives from std::exception, so this comes first)
  } catch (...) {
    const ErrorData data = describeException(std::current_exception(), invalidArgumentCode);
    fail(env, data.code, data.message);
  }
}

}  // namespace rnnkit::binding
