// The codec interface: one descriptor row per compression method, as plain data.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace compresstest {

// Receives compressed output chunk by chunk. Codecs write through a sink so that a size-only
// run can count bytes without holding the whole output in memory.
using byte_sink = std::function<void(const char* data, std::size_t nbytes)>;

// One row of the registry. Everything a caller needs to know about a codec is here; the
// server never names a codec, it asks the registry.
//
// Thread-safety: compress and decompress are reentrant (no shared state); call them from
// any number of threads at once.
struct codec_descriptor {
    std::string_view name;           // panel name, e.g. "gzip"
    std::string_view content_coding; // HTTP content-coding token, empty if none
    std::string_view library;        // the library behind it, for /api/codecs
    int min_level;
    int default_level;
    int max_level;

    // Compresses in into sink at level (already checked to be in range).
    // Throws std::runtime_error if the library fails (out of memory), never for bad input.
    void (*compress)(std::string_view in, int level, const byte_sink& sink);

    // Decompresses in; throws std::runtime_error on corrupt input or if the output would
    // exceed max_out_nbytes.
    std::string (*decompress)(std::string_view in, std::size_t max_out_nbytes);

    // Approximate single-thread cost in nanoseconds per input byte at level, measured on
    // text; the report multiplies it by the input size to refuse panels over a CPU budget.
    double (*cost_ns_per_byte)(int level);

    // Exact-size shortcut: when non-empty, this codec's output at level L is the output of
    // codec `derived_from` at L plus `derived_overhead_nbytes` (gzip = deflate + 18 bytes of
    // header and trailer, zlib = deflate + 6), so the report compresses once per level.
    std::string_view derived_from;
    std::size_t derived_overhead_nbytes;

    // Optional exact-size split (bzip2: its blocks are independent). When split is non-null:
    // split() cuts the input into pieces the codec would compress independently anyway,
    // piece_nbits() measures one piece's exact contribution in bits (pieces may run in
    // parallel), and assemble_nbytes() turns the sum of the pieces' bits into the size
    // compress() would write for the whole input. Null means "count what compress() writes".
    std::vector<std::string_view> (*split)(std::string_view in, int level);
    std::uint64_t (*piece_nbits)(std::string_view piece, int level);
    std::size_t (*assemble_nbytes)(std::uint64_t total_piece_nbits, int level);
};

// Convenience wrappers over a descriptor.
std::string compress_to_string(const codec_descriptor& c, std::string_view in, int level);
std::size_t compressed_nbytes(const codec_descriptor& c, std::string_view in, int level);

} // namespace compresstest
