// Runs every registered native check; optional argument: a substring filter on case names.
#include <cstdio>
#include <cstring>
#include <exception>

#include "harness.h"

int main(int argc, char** argv) {
  const char* filter = argc > 1 ? argv[1] : nullptr;
  int passed = 0, failed = 0;
  for (const auto& test : rnnkit::tests::registry()) {
    if (filter && !std::strstr(test.name.c_str(), filter)) continue;
    try {
      test.body();
      ++passed;
      std::printf("ok %s\n", test.name.c_str());
    } catch (const std::exception& e) {
      ++failed;
      std::printf("FAIL %s: %s\n", test.name.c_str(), e.what());
    }
  }
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 && passed > 0 ? 0 : 1;
}
