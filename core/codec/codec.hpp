// The codec interface: one descriptor row per compression method, as plain data.
#pragma once

#include "memory_meter.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace compresstest {

// Receives compressed output chunk by chunk. Codecs write through a sink so that a size-only
// run can count bytes without holding the whole output in memory. A sink may throw (an output
// limit); every codec then releases its library state and lets the exception through.
using byte_sink = std::function<void(const char* data, std::size_t nbytes)>;

// One row of the registry, filled in by name (C++20 designated initializers). Everything a
// caller needs to know about a codec is here; the server never names a codec, it asks the
// registry. Optional members default to "absent", so a new hook is one more named member,
// not an edit of every codec. The CPU cost of each level is measured, not written here: see
// costs.hpp.
//
// Thread-safety: compress and decompress are reentrant (no shared state); call them from
// any number of threads at once.
struct codec_descriptor {
    std::string_view name;           // panel name, e.g. "gzip"
    std::string_view content_coding; // HTTP content-coding token, empty if none
    std::string_view library;        // the library behind it, for /api/codecs
    int min_level = 0;
    int default_level = 0;
    int max_level = 0;

    // Compresses in into sink at level (already checked to be in range), whatever in's size.
    // Throws std::runtime_error if the library fails (out of memory), never for bad input.
    // With a meter, the library allocates through it (see compress_metered).
    void (*compress)(std::string_view in, int level, const byte_sink& sink,
                     memory_meter* meter) = nullptr;

    // Decompresses in into out, replacing what out held; throws std::runtime_error on corrupt,
    // truncated or trailing input, or if the output would exceed max_out_nbytes. Callers pass
    // the size they expect as the limit: the codec decodes straight into out, sized for it up
    // front (see output_room), so a repeated run reuses out's memory and copies nothing, as
    // lzbench and zstd -b decode into a buffer they allocated once. With a meter, as compress.
    void (*decompress)(std::string_view in, std::size_t max_out_nbytes, std::string& out,
                       memory_meter* meter) = nullptr;

    // Whether compress and decompress route all their library's heap use through a meter they
    // are given. False where the library has no allocator hook: its peak memory is unknown.
    bool compress_metered = false;
    bool decompress_metered = false;

    // Exact-size shortcut: when set, this codec's output at level L is the output of
    // derived_from at L plus derived_overhead_nbytes (gzip = deflate + 18 bytes of header and
    // trailer, zlib = deflate + 6), so the report compresses once per level.
    const codec_descriptor* derived_from = nullptr;
    std::size_t derived_overhead_nbytes = 0;

    // Optional exact-size split (bzip2: its blocks are independent). When split is set:
    // split() cuts the input into pieces the codec would compress independently anyway,
    // piece_nbits() takes one piece's own stream (compress() of that piece, which decompress()
    // reads back) and gives the exact bits the piece contributes to the whole input's stream
    // (pieces may run in parallel), and assemble_nbytes() turns the sum of the pieces' bits
    // into the size compress() would write for the whole input. Unset means "count what
    // compress() writes".
    std::vector<std::string_view> (*split)(std::string_view in, int level) = nullptr;
    std::uint64_t (*piece_nbits)(std::string_view piece_stream, int level) = nullptr;
    std::size_t (*assemble_nbytes)(std::uint64_t total_piece_nbits, int level) = nullptr;
};

// Convenience wrappers over a descriptor. compress_into replaces out's contents and keeps its
// memory, for repeated runs.
std::string compress_to_string(const codec_descriptor& c, std::string_view in, int level,
                               memory_meter* meter = nullptr);
void compress_into(const codec_descriptor& c, std::string_view in, int level, std::string& out,
                   memory_meter* meter = nullptr);
std::string decompress_to_string(const codec_descriptor& c, std::string_view in,
                                 std::size_t max_out_nbytes, memory_meter* meter = nullptr);
std::size_t compressed_nbytes(const codec_descriptor& c, std::string_view in, int level);

// --- for codec files -------------------------------------------------------------------------

// Releases a library context with the library's own function (ZSTD_freeCCtx, lzma_end, …).
template <class T, auto release_fn> struct library_release {
    void operator()(T* context) const noexcept { release_fn(context); }
};

// Owns a library context from the moment it is created, so every path frees it, a throwing
// sink included: library_handle<ZSTD_CCtx, ZSTD_freeCCtx> cctx(ZSTD_createCCtx()). For a
// stream struct on the stack (z_stream, bz_stream, lzma_stream) it holds the struct's address
// and ends the stream; create it right after the library's init succeeded.
template <class T, auto release_fn>
using library_handle = std::unique_ptr<T, library_release<T, release_fn>>;

// Where a decompressor writes: out itself, sized to max_out_nbytes + 1 when made (a run
// that fills the extra byte is over the limit). Bytes out already held are not zeroed again,
// so a run that reuses the last run's out touches only what it decodes. finish() trims out to
// what was written.
class output_room {
public:
    output_room(std::string& out, std::size_t max_out_nbytes) : out_(out), max_(max_out_nbytes) {
        out_.resize(max_out_nbytes + 1);
    }
    char* next() { return out_.data() + used_; }
    std::size_t left() const { return out_.size() - used_; }
    void wrote(std::size_t nbytes) { used_ += nbytes; }
    std::size_t used() const { return used_; }
    bool over_limit() const { return used_ > max_; }
    void finish() { out_.resize(used_); }

private:
    std::string& out_;
    std::size_t max_;
    std::size_t used_ = 0;
};

// How much of nbytes a library whose length fields are T (zlib's uInt, libbz2's unsigned) can
// take in one call; callers feed the rest in further calls instead of narrowing the size.
template <class T> T slice_nbytes(std::size_t nbytes) {
    return static_cast<T>(std::min<std::size_t>(nbytes, std::numeric_limits<T>::max()));
}

} // namespace compresstest
