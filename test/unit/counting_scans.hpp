// A byte_scans (core/multipart.hpp) that counts the bytes each scan reads, for the linear-time
// property of the delimiter search; shared by its unit tests and its fuzzer.
#pragma once

#include "multipart.hpp"

#include <cstddef>

namespace compresstest::multipart::testing {

// byte_scans, counting the bytes each scan reads (its hit included).
struct counting_scans {
    static inline std::size_t read_nbytes = 0;
    static const char* first_of(const char* p, std::size_t n, char c) {
        const char* hit = byte_scans::first_of(p, n, c);
        read_nbytes += hit != nullptr ? static_cast<std::size_t>(hit - p) + 1 : n;
        return hit;
    }
    static const char* last_of(const char* p, std::size_t n, char c) {
        const char* hit = byte_scans::last_of(p, n, c);
        read_nbytes += hit != nullptr ? static_cast<std::size_t>(p + n - hit) : n;
        return hit;
    }
    static bool equal(const char* a, const char* b, std::size_t n) {
        read_nbytes += n;
        return byte_scans::equal(a, b, n);
    }
};

} // namespace compresstest::multipart::testing
