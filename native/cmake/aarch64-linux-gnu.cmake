# CMake toolchain for the linux-arm64 prebuild, cross-compiled on linux-x64 with Debian's g++-aarch64-linux-gnu
# (`apt-get install g++-aarch64-linux-gnu`). Used by `npm run build:prebuilds:arm64` (scripts/prebuild.js).
#
# No -march: the compiler's default, armv8-a, runs on every 64-bit Arm server and board (Graviton 1-4, Ampere,
# Raspberry Pi 4/5), and Advanced SIMD (NEON) is part of it, so Eigen vectorises with NEON unasked.
# CMAKE_FIND_ROOT_PATH is left unset on purpose: Eigen is header-only, so the build machine's own Eigen 3.4 package
# (/usr/share/eigen3/cmake) serves the target as it is, and nothing else is searched for.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
