// Deterministic test inputs: random, text-like and run-heavy bytes of any size.
#pragma once

#include <cstdint>
#include <random>
#include <string>

namespace compresstest::test {

inline std::string random_bytes(std::size_t n, std::uint32_t seed) {
    std::mt19937 rng(seed);
    std::string s(n, '\0');
    for (auto& c : s)
        c = static_cast<char>(rng() & 0xff);
    return s;
}

// Words drawn with a skewed distribution, so it compresses like prose.
inline std::string text_bytes(std::size_t n, std::uint32_t seed) {
    static const char* words[] = {"the",    "server",  "compress", "a",      "bytes",
                                  "of",     "segment", "page",     "and",    "deflate",
                                  "report", "level",   "to",       "brotli", "zstd",
                                  "in",     "tiny",    "header",   "is",     "stream"};
    std::mt19937 rng(seed);
    std::geometric_distribution<int> pick(0.25);
    std::string s;
    while (s.size() < n) {
        s += words[std::min(pick(rng), 19)];
        s += (rng() % 12 == 0) ? ".\n" : " ";
    }
    s.resize(n);
    return s;
}

// Long and short runs of repeated bytes (exercises run-length stages like bzip2's).
inline std::string run_bytes(std::size_t n, std::uint32_t seed) {
    std::mt19937 rng(seed);
    std::string s;
    while (s.size() < n) {
        const std::size_t len = (rng() % 4 == 0) ? 1 + rng() % 1000 : 1 + rng() % 300;
        s.append(len, static_cast<char>('a' + rng() % 3));
    }
    s.resize(n);
    return s;
}

} // namespace compresstest::test
