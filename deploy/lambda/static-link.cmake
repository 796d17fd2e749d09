# Lambda build: links compresstest fully static, so that it needs nothing from Amazon Linux 2023.
#
#   cmake -S . -B build/lambda -G Ninja -DCMAKE_BUILD_TYPE=Release -DCOMPRESSTEST_TESTS=OFF \
#         -DCMAKE_PROJECT_INCLUDE="$PWD/deploy/lambda/static-link.cmake"
#   cmake --build build/lambda --target compresstest
#   deploy/lambda/package build/lambda/compresstest
#
# Why static: Debian 12's shared libstdc++.so.6 needs arc4random@GLIBC_2.36 and its libgcc_s.so.1
# _dl_find_object@GLIBC_2.35, and Amazon Linux 2023 has glibc 2.34, so a dynamically linked
# Debian build cannot be shipped with its libraries. A static binary carries its own glibc and has
# no symbol versions to resolve at all. The Lambda face resolves only numeric addresses
# (AWS_LAMBDA_RUNTIME_API is "127.0.0.1:9001"), so static glibc's NSS caveat does not arise there.
#
# CMAKE_PROJECT_INCLUDE runs this right after project(), before CMakeLists.txt looks for its
# libraries, so it steers those look-ups without changing CMakeLists.txt.

# zopfli ships no .a; only the build-time generator compresstest_embed links it, dynamically.
find_library(ZOPFLI_LIBRARY NAMES libzopfli.so zopfli REQUIRED)

# Every later find_library() takes the archive Debian ships (zlib, bz2, lzma, zstd, brotli, lz4).
set(CMAKE_FIND_LIBRARY_SUFFIXES .a)
set(Boost_USE_STATIC_LIBS ON)
# pkg-config's --static adds each archive's own dependencies (libbrotlicommon for brotli).
set(PKG_CONFIG_ARGN --static CACHE STRING "Arguments to supply to pkg-config" FORCE)

# Debian's fmt is shared-only: define both fmt targets as its header-only mode, so that
# find_package(fmt) finds them defined and leaves them be.
find_path(COMPRESSTEST_FMT_INCLUDE_DIR fmt/format.h REQUIRED)
foreach(fmt_target fmt::fmt fmt::fmt-header-only)
  add_library(${fmt_target} INTERFACE IMPORTED)
  set_target_properties(${fmt_target} PROPERTIES
    INTERFACE_COMPILE_DEFINITIONS FMT_HEADER_ONLY=1
    INTERFACE_INCLUDE_DIRECTORIES "${COMPRESSTEST_FMT_INCLUDE_DIR}")
endforeach()

# Only the shipped binary is static; the deferred call runs once CMakeLists.txt has defined it.
cmake_language(DEFER CALL target_link_options compresstest PRIVATE -static)
