// gzip (RFC 1952) through libdeflate: whole-buffer DEFLATE, faster than zlib, levels up to 12.
// needs: Debian libdeflate-dev, pkg-config libdeflate
#include "codec.hpp"

#include <libdeflate.h>

#include <cstdlib>
#include <stdexcept>

namespace compresstest::codecs {
namespace {

// libdeflate's allocator is process-wide and takes no opaque pointer: it is installed once,
// before this file's first allocation, and counts into the meter of the call running on the
// calling thread (a libdeflate object never outlives the call that made it).
thread_local memory_meter* current_meter = nullptr;

void* hook_malloc(std::size_t nbytes) {
    return current_meter ? current_meter->allocate(nbytes) : std::malloc(nbytes);
}
void hook_free(void* p) {
    if (current_meter)
        current_meter->release(p);
    else
        std::free(p);
}

// Meters this thread's libdeflate allocations for its lifetime; create it before any
// libdeflate object, so that it outlives them all.
class meter_scope {
public:
    explicit meter_scope(memory_meter* meter) {
        static const bool installed =
            (libdeflate_set_memory_allocator(hook_malloc, hook_free), true);
        (void)installed;
        current_meter = meter;
    }
    ~meter_scope() { current_meter = nullptr; }
    meter_scope(const meter_scope&) = delete;
    meter_scope& operator=(const meter_scope&) = delete;
};

using compressor = library_handle<libdeflate_compressor, libdeflate_free_compressor>;
using decompressor = library_handle<libdeflate_decompressor, libdeflate_free_decompressor>;

constexpr std::size_t gzip_framing_nbytes = 18;    // 10-byte header + CRC-32 + ISIZE
constexpr std::uint64_t isize_period = 1ull << 32; // ISIZE is the size modulo 2^32

void libdeflate_compress(std::string_view in, int level, const byte_sink& sink,
                         memory_meter* meter) {
    const meter_scope scope(meter);
    const compressor c(libdeflate_alloc_compressor(level));
    if (!c) throw std::runtime_error("libdeflate: out of memory");
    std::string out(libdeflate_gzip_compress_bound(c.get(), in.size()), '\0');
    const std::size_t nbytes =
        libdeflate_gzip_compress(c.get(), in.data(), in.size(), out.data(), out.size());
    if (nbytes == 0) throw std::runtime_error("libdeflate: output over its own bound");
    sink(out.data(), nbytes);
}

// libdeflate decompresses into a buffer of the exact size, which the member's trailer gives
// modulo 2^32: try each size it allows, up to the limit.
void libdeflate_decompress(std::string_view in, std::size_t max_out_nbytes, std::string& out,
                           memory_meter* meter) {
    if (in.size() < gzip_framing_nbytes) throw std::runtime_error("libdeflate: truncated member");
    std::uint64_t isize = 0;
    for (std::size_t k = 0; k < 4; ++k)
        isize |= std::uint64_t{static_cast<unsigned char>(in[in.size() - 4 + k])} << (8 * k);
    const meter_scope scope(meter);
    const decompressor d(libdeflate_alloc_decompressor());
    if (!d) throw std::runtime_error("libdeflate: out of memory");
    for (std::uint64_t out_nbytes = isize; out_nbytes <= max_out_nbytes;
         out_nbytes += isize_period) {
        out.resize(static_cast<std::size_t>(out_nbytes));
        std::size_t in_used_nbytes = 0;
        const auto rc = libdeflate_gzip_decompress_ex(d.get(), in.data(), in.size(), out.data(),
                                                      out.size(), &in_used_nbytes, nullptr);
        if (rc == LIBDEFLATE_SUCCESS && in_used_nbytes == in.size()) return;
        if (rc != LIBDEFLATE_INSUFFICIENT_SPACE)
            throw std::runtime_error("libdeflate: corrupt, truncated or trailing input");
    }
    throw std::runtime_error("libdeflate: output over the limit");
}

} // namespace

extern const codec_descriptor libdeflate_codec{
    .name = "libdeflate",
    .content_coding = "gzip",
    .library = "libdeflate " LIBDEFLATE_VERSION_STRING,
    .min_level = 1,
    .default_level = 6,
    .max_level = 12,
    .compress = libdeflate_compress,
    .decompress = libdeflate_decompress,
    .compress_metered = true,
    .decompress_metered = true,
};

} // namespace compresstest::codecs
