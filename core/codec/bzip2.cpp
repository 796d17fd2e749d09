// bzip2 through libbz2, with an exact whole-stream size assembled from independent blocks.
#include "codec.hpp"

#include <bzlib.h>

#include <array>
#include <stdexcept>

namespace compresstest::codecs {
namespace {

constexpr std::size_t chunk_nbytes = 64 * 1024;
constexpr int work_factor_default = 0; // libbz2's default (30)
constexpr int verbosity_quiet = 0;

// Stream layout (bits): "BZh" + level digit (32), blocks (each starts with the 48-bit
// magic 0x314159265359 and the block CRC), end-of-stream magic 0x177245385090 (48) +
// combined CRC (32), then zero padding to a whole byte.
constexpr std::uint64_t stream_header_nbits = 32;
constexpr std::uint64_t stream_trailer_nbits = 48 + 32;
constexpr std::uint64_t eos_magic = 0x177245385090ull;

void bzip2_compress(std::string_view in, int level, const byte_sink& sink) {
    bz_stream bs{};
    if (BZ2_bzCompressInit(&bs, level, verbosity_quiet, work_factor_default) != BZ_OK)
        throw std::runtime_error("bzip2: BZ2_bzCompressInit failed");
    std::array<char, chunk_nbytes> out;
    std::size_t offset = 0;
    int rc = BZ_RUN_OK;
    do {
        const std::size_t slice = std::min<std::size_t>(in.size() - offset, 1u << 30);
        bs.next_in = const_cast<char*>(in.data() + offset);
        bs.avail_in = static_cast<unsigned>(slice);
        offset += slice;
        const int action = offset == in.size() ? BZ_FINISH : BZ_RUN;
        do {
            bs.next_out = out.data();
            bs.avail_out = static_cast<unsigned>(out.size());
            rc = BZ2_bzCompress(&bs, action);
            if (rc < 0) {
                BZ2_bzCompressEnd(&bs);
                throw std::runtime_error("bzip2: compress failed");
            }
            sink(out.data(), out.size() - bs.avail_out);
        } while (action == BZ_FINISH ? rc != BZ_STREAM_END : bs.avail_in != 0);
    } while (rc != BZ_STREAM_END);
    BZ2_bzCompressEnd(&bs);
}

std::string bzip2_decompress(std::string_view in, std::size_t max_out_nbytes) {
    bz_stream bs{};
    if (BZ2_bzDecompressInit(&bs, verbosity_quiet, 0) != BZ_OK)
        throw std::runtime_error("bzip2: BZ2_bzDecompressInit failed");
    std::string out;
    std::array<char, chunk_nbytes> buf;
    bs.next_in = const_cast<char*>(in.data());
    bs.avail_in = static_cast<unsigned>(in.size());
    int rc = BZ_OK;
    while (rc != BZ_STREAM_END) {
        bs.next_out = buf.data();
        bs.avail_out = static_cast<unsigned>(buf.size());
        rc = BZ2_bzDecompress(&bs);
        if (rc != BZ_OK && rc != BZ_STREAM_END) {
            BZ2_bzDecompressEnd(&bs);
            throw std::runtime_error("bzip2: corrupt stream");
        }
        out.append(buf.data(), buf.size() - bs.avail_out);
        if (out.size() > max_out_nbytes) {
            BZ2_bzDecompressEnd(&bs);
            throw std::runtime_error("bzip2: output over the limit");
        }
        if (rc == BZ_OK && bs.avail_in == 0 && bs.avail_out != 0) {
            BZ2_bzDecompressEnd(&bs);
            throw std::runtime_error("bzip2: truncated stream");
        }
    }
    BZ2_bzDecompressEnd(&bs);
    return out;
}

// Where libbz2 closes its blocks. It run-length encodes the input first (runs of 4..255
// equal bytes become 4 bytes + a count) and closes a block once the encoded block reaches
// 100000 * level - 19 bytes; the byte that made it full stays pending (it may start a run)
// and opens the next block. This replays that bookkeeping (bzlib.c: ADD_CHAR_TO_BLOCK,
// add_pair_to_block, copy_input_until_stop) so each piece is exactly one of its blocks.
std::vector<std::string_view> bzip2_split(std::string_view in, int level) {
    const std::size_t block_max_nbytes = 100000u * static_cast<unsigned>(level) - 19u;
    std::vector<std::string_view> pieces;
    std::size_t block_begin = 0;
    std::size_t nblock = 0;     // encoded bytes in the current block
    int run_byte = -1;          // state_in_ch; -1 = none yet
    std::size_t run_nbytes = 0; // state_in_len
    auto pair_nbytes = [](std::size_t run) { return run < 4 ? run : std::size_t{5}; };
    for (std::size_t i = 0; i < in.size(); ++i) {
        const int byte = static_cast<unsigned char>(in[i]);
        if (byte != run_byte || run_nbytes == 255) {
            if (run_byte >= 0) nblock += pair_nbytes(run_nbytes);
            run_byte = byte;
            run_nbytes = 1;
        } else {
            ++run_nbytes;
        }
        // The check runs before the next byte is consumed; at the very end libbz2 finishes
        // instead, so the last byte never opens a block of its own.
        if (nblock >= block_max_nbytes && i + 1 < in.size()) {
            pieces.push_back(in.substr(block_begin, i - block_begin));
            block_begin = i;
            nblock = 0;
            run_nbytes = 1;
        }
    }
    if (block_begin < in.size()) pieces.push_back(in.substr(block_begin));
    return pieces;
}

// Bits one block occupies: compress the piece as a stream of its own (exactly one block),
// then take off the stream header and the end-of-stream record. The trailer is the 48-bit
// magic and a CRC, followed by 0..7 zero padding bits; find where the magic starts.
std::uint64_t bzip2_piece_nbits(std::string_view piece, int level) {
    std::string stream;
    bzip2_compress(piece, level, [&](const char* p, std::size_t n) { stream.append(p, n); });
    const std::uint64_t total_nbits = std::uint64_t{stream.size()} * 8;
    auto bits_at = [&](std::uint64_t bit, unsigned count) {
        std::uint64_t v = 0;
        for (unsigned k = 0; k < count; ++k) {
            const std::uint64_t b = bit + k;
            v = (v << 1) | ((static_cast<unsigned char>(stream[b / 8]) >> (7 - b % 8)) & 1u);
        }
        return v;
    };
    for (unsigned pad = 0; pad < 8; ++pad) {
        const std::uint64_t end = total_nbits - pad;
        if (end < stream_header_nbits + stream_trailer_nbits) break;
        if (pad > 0 && bits_at(end, pad) != 0) continue;
        if (bits_at(end - stream_trailer_nbits, 48) == eos_magic)
            return end - stream_trailer_nbits - stream_header_nbits;
    }
    throw std::runtime_error("bzip2: end-of-stream marker not found");
}

std::size_t bzip2_assemble_nbytes(std::uint64_t total_piece_nbits, int) {
    return static_cast<std::size_t>(
        (stream_header_nbits + total_piece_nbits + stream_trailer_nbits + 7) / 8);
}

// Roughly level-independent: the block sort dominates.
double bzip2_cost_ns_per_byte(int) {
    return 75;
}

} // namespace

extern const codec_descriptor bzip2_codec{"bzip2",
                                          "",
                                          "libbz2",
                                          1,
                                          9,
                                          9,
                                          bzip2_compress,
                                          bzip2_decompress,
                                          bzip2_cost_ns_per_byte,
                                          "",
                                          0,
                                          bzip2_split,
                                          bzip2_piece_nbits,
                                          bzip2_assemble_nbytes};

} // namespace compresstest::codecs
