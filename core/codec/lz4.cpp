// LZ4 frame format (as the lz4 command writes) through liblz4; levels >= 3 use LZ4HC.
// needs: Debian liblz4-dev, pkg-config liblz4
#include "codec.hpp"

// LZ4F_CustomMem and the _advanced constructors are in the static-linking section.
#define LZ4F_STATIC_LINKING_ONLY
#include <lz4frame.h>
#include <lz4hc.h>

#include <array>
#include <stdexcept>
#include <vector>

namespace compresstest::codecs {
namespace {

constexpr std::size_t chunk_nbytes = 64 * 1024;

using compression_context = library_handle<LZ4F_cctx, LZ4F_freeCompressionContext>;
using decompression_context = library_handle<LZ4F_dctx, LZ4F_freeDecompressionContext>;

// The library's allocator, or meter's if there is one (calloc left to alloc + memset).
LZ4F_CustomMem memory_of(memory_meter* meter) {
    if (!meter) return LZ4F_defaultCMem;
    return {[](void* opaque, std::size_t nbytes) {
                return static_cast<memory_meter*>(opaque)->allocate(nbytes);
            },
            nullptr, [](void* opaque, void* p) { static_cast<memory_meter*>(opaque)->release(p); },
            meter};
}

std::size_t checked(std::size_t rc) {
    if (LZ4F_isError(rc)) throw std::runtime_error(std::string("lz4: ") + LZ4F_getErrorName(rc));
    return rc;
}

void lz4_compress(std::string_view in, int level, const byte_sink& sink, memory_meter* meter) {
    LZ4F_preferences_t prefs{};
    prefs.compressionLevel = level;
    prefs.frameInfo.contentSize = in.size();
    const compression_context cctx(
        LZ4F_createCompressionContext_advanced(memory_of(meter), LZ4F_VERSION));
    if (!cctx) throw std::runtime_error("lz4: out of memory");
    std::vector<char> out(LZ4F_compressBound(chunk_nbytes, &prefs));
    sink(out.data(), checked(LZ4F_compressBegin(cctx.get(), out.data(), out.size(), &prefs)));
    for (std::size_t offset = 0; offset < in.size(); offset += chunk_nbytes) {
        const std::size_t n = std::min(chunk_nbytes, in.size() - offset);
        sink(out.data(), checked(LZ4F_compressUpdate(cctx.get(), out.data(), out.size(),
                                                     in.data() + offset, n, nullptr)));
    }
    sink(out.data(), checked(LZ4F_compressEnd(cctx.get(), out.data(), out.size(), nullptr)));
}

void lz4_decompress(std::string_view in, std::size_t max_out_nbytes, std::string& out,
                    memory_meter* meter) {
    const decompression_context dctx(
        LZ4F_createDecompressionContext_advanced(memory_of(meter), LZ4F_VERSION));
    if (!dctx) throw std::runtime_error("lz4: out of memory");
    output_room room(out, max_out_nbytes);
    const char* next = in.data();
    std::size_t left = in.size();
    std::size_t hint = 1; // 0 once the frame is complete
    while (hint != 0) {
        std::size_t out_n = room.left();
        std::size_t in_n = left;
        hint = LZ4F_decompress(dctx.get(), room.next(), &out_n, next, &in_n, nullptr);
        if (LZ4F_isError(hint) || (in_n == 0 && out_n == 0 && hint != 0))
            throw std::runtime_error("lz4: corrupt or truncated frame");
        next += in_n;
        left -= in_n;
        room.wrote(out_n);
        if (room.over_limit()) throw std::runtime_error("lz4: output over the limit");
    }
    if (left != 0) throw std::runtime_error("lz4: trailing bytes after the frame");
    room.finish();
}

} // namespace

extern const codec_descriptor lz4_codec{
    .name = "lz4",
    .library = "liblz4",
    .min_level = 1,
    .default_level = 1,
    .max_level = LZ4HC_CLEVEL_MAX,
    .compress = lz4_compress,
    .decompress = lz4_decompress,
    .compress_metered = true,
    .decompress_metered = true,
};

} // namespace compresstest::codecs
