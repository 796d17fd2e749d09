// LZ4 frame format (as the lz4 command writes) through liblz4; levels >= 3 use LZ4HC.
#include "codec.hpp"

#include <lz4frame.h>
#include <lz4hc.h>

#include <array>
#include <stdexcept>
#include <vector>

namespace compresstest::codecs {
namespace {

constexpr std::size_t chunk_nbytes = 64 * 1024;

void lz4_compress(std::string_view in, int level, const byte_sink& sink) {
    LZ4F_preferences_t prefs{};
    prefs.compressionLevel = level;
    prefs.frameInfo.contentSize = in.size();
    LZ4F_cctx* cctx = nullptr;
    if (LZ4F_isError(LZ4F_createCompressionContext(&cctx, LZ4F_VERSION)))
        throw std::runtime_error("lz4: out of memory");
    std::vector<char> out(LZ4F_compressBound(chunk_nbytes, &prefs));
    auto check = [&](std::size_t rc) {
        if (LZ4F_isError(rc)) {
            LZ4F_freeCompressionContext(cctx);
            throw std::runtime_error(std::string("lz4: ") + LZ4F_getErrorName(rc));
        }
        return rc;
    };
    sink(out.data(), check(LZ4F_compressBegin(cctx, out.data(), out.size(), &prefs)));
    for (std::size_t offset = 0; offset < in.size(); offset += chunk_nbytes) {
        const std::size_t n = std::min(chunk_nbytes, in.size() - offset);
        sink(out.data(), check(LZ4F_compressUpdate(cctx, out.data(), out.size(), in.data() + offset,
                                                   n, nullptr)));
    }
    sink(out.data(), check(LZ4F_compressEnd(cctx, out.data(), out.size(), nullptr)));
    LZ4F_freeCompressionContext(cctx);
}

std::string lz4_decompress(std::string_view in, std::size_t max_out_nbytes) {
    LZ4F_dctx* dctx = nullptr;
    if (LZ4F_isError(LZ4F_createDecompressionContext(&dctx, LZ4F_VERSION)))
        throw std::runtime_error("lz4: out of memory");
    std::string out;
    std::array<char, chunk_nbytes> buf;
    const char* next = in.data();
    std::size_t left = in.size();
    std::size_t hint = 1;
    while (hint != 0) {
        std::size_t out_n = buf.size();
        std::size_t in_n = left;
        hint = LZ4F_decompress(dctx, buf.data(), &out_n, next, &in_n, nullptr);
        if (LZ4F_isError(hint) || (in_n == 0 && out_n == 0 && hint != 0)) {
            LZ4F_freeDecompressionContext(dctx);
            throw std::runtime_error("lz4: corrupt or truncated frame");
        }
        next += in_n;
        left -= in_n;
        out.append(buf.data(), out_n);
        if (out.size() > max_out_nbytes) {
            LZ4F_freeDecompressionContext(dctx);
            throw std::runtime_error("lz4: output over the limit");
        }
    }
    LZ4F_freeDecompressionContext(dctx);
    return out;
}

double lz4_cost_ns_per_byte(int level) {
    static constexpr std::array<double, 13> ns = {1,  1.5, 1.5, 12, 15,  18, 22,
                                                  28, 35,  45,  60, 150, 200};
    return ns[static_cast<std::size_t>(level)];
}

} // namespace

extern const codec_descriptor lz4_codec{"lz4",
                                        "",
                                        "liblz4",
                                        1,
                                        1,
                                        LZ4HC_CLEVEL_MAX,
                                        lz4_compress,
                                        lz4_decompress,
                                        lz4_cost_ns_per_byte,
                                        "",
                                        0,
                                        nullptr,
                                        nullptr,
                                        nullptr};

} // namespace compresstest::codecs
