// xz (LZMA2 in the .xz container, CRC64 check) through liblzma.
#include "codec.hpp"

#include <lzma.h>

#include <array>
#include <stdexcept>

namespace compresstest::codecs {
namespace {

constexpr std::size_t chunk_nbytes = 64 * 1024;

// Runs strm to the end and always frees it, also when the sink throws (an output limit).
void run_lzma(lzma_stream& strm, std::string_view in, const byte_sink& sink) {
    struct end_guard {
        lzma_stream& s;
        ~end_guard() { lzma_end(&s); }
    } guard{strm};
    std::array<std::uint8_t, chunk_nbytes> out;
    strm.next_in = reinterpret_cast<const std::uint8_t*>(in.data());
    strm.avail_in = in.size();
    lzma_ret rc = LZMA_OK;
    while (rc != LZMA_STREAM_END) {
        strm.next_out = out.data();
        strm.avail_out = out.size();
        rc = lzma_code(&strm, LZMA_FINISH);
        if (rc != LZMA_OK && rc != LZMA_STREAM_END)
            throw std::runtime_error("xz: stream error " + std::to_string(rc));
        sink(reinterpret_cast<const char*>(out.data()), out.size() - strm.avail_out);
    }
}

void xz_compress(std::string_view in, int level, const byte_sink& sink) {
    lzma_stream strm = LZMA_STREAM_INIT;
    if (lzma_easy_encoder(&strm, static_cast<std::uint32_t>(level), LZMA_CHECK_CRC64) != LZMA_OK)
        throw std::runtime_error("xz: encoder init failed");
    run_lzma(strm, in, sink);
}

std::string xz_decompress(std::string_view in, std::size_t max_out_nbytes) {
    lzma_stream strm = LZMA_STREAM_INIT;
    if (lzma_stream_decoder(&strm, UINT64_MAX, 0) != LZMA_OK)
        throw std::runtime_error("xz: decoder init failed");
    std::string out;
    run_lzma(strm, in, [&](const char* p, std::size_t n) {
        out.append(p, n);
        if (out.size() > max_out_nbytes) throw std::runtime_error("xz: output over the limit");
    });
    return out;
}

double xz_cost_ns_per_byte(int level) {
    static constexpr std::array<double, 10> ns = {40, 60, 90, 150, 300, 400, 500, 550, 600, 650};
    return ns[static_cast<std::size_t>(level)];
}

} // namespace

extern const codec_descriptor xz_codec{"xz",
                                       "",
                                       "liblzma " LZMA_VERSION_STRING,
                                       0,
                                       6,
                                       9,
                                       xz_compress,
                                       xz_decompress,
                                       xz_cost_ns_per_byte,
                                       "",
                                       0,
                                       nullptr,
                                       nullptr,
                                       nullptr};

} // namespace compresstest::codecs
