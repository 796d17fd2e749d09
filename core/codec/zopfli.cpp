// gzip (RFC 1952) through Zopfli, whose level is its iteration count: the smallest DEFLATE
// streams, at a CPU cost that grows with every iteration (the CPU budget guards it).
// needs: Debian libzopfli-dev, library zopfli
#include "codec.hpp"

#include <zopfli/zopfli.h>

#include <cstdlib>
#include <stdexcept>

namespace compresstest::codecs {

// zlib's gzip decoder reads Zopfli's streams; Zopfli has none of its own.
extern const codec_descriptor gzip_codec;

namespace {

// Zopfli allocates its output with malloc and leaves it to the caller.
void free_output(unsigned char* out) {
    std::free(out);
}

// Zopfli allocates with malloc directly and has no allocator hook: no meter.
void zopfli_compress(std::string_view in, int level, const byte_sink& sink, memory_meter*) {
    ZopfliOptions options;
    ZopfliInitOptions(&options);
    options.numiterations = level;
    unsigned char* out = nullptr;
    std::size_t out_nbytes = 0;
    ZopfliCompress(&options, ZOPFLI_FORMAT_GZIP, reinterpret_cast<const unsigned char*>(in.data()),
                   in.size(), &out, &out_nbytes);
    const library_handle<unsigned char, free_output> owner(out);
    if (!out) throw std::runtime_error("zopfli: out of memory");
    sink(reinterpret_cast<const char*>(out), out_nbytes);
}

void zopfli_decompress(std::string_view in, std::size_t max_out_nbytes, std::string& out,
                       memory_meter* meter) {
    gzip_codec.decompress(in, max_out_nbytes, out, meter);
}

} // namespace

extern const codec_descriptor zopfli_codec{
    .name = "zopfli",
    .content_coding = "gzip",
    .library = "libzopfli",
    .min_level = 1,
    .default_level = 15, // the zopfli command's default
    .max_level = 15, // each further iteration costs as much CPU and saves a few bytes per 100 kB
    .compress = zopfli_compress,
    .decompress = zopfli_decompress,
    .decompress_metered = true,
};

} // namespace compresstest::codecs
