// Properties of every codec: round trips, exact derived sizes, bzip2 block reassembly.
#include "codec/registry.hpp"
#include "codec/zlib_family.hpp"
#include "inputs.hpp"

#include <bzlib.h>
#include <gtest/gtest.h>

#include <stdexcept>

namespace compresstest {
namespace {

using test::random_bytes;
using test::run_bytes;
using test::text_bytes;

struct codec_level {
    const codec_descriptor* codec;
    int level;
};

std::vector<codec_level> every_codec_level() {
    std::vector<codec_level> out;
    for (const codec_descriptor* c : all_codecs())
        for (int level = c->min_level; level <= c->max_level; ++level)
            out.push_back({c, level});
    return out;
}

class every_codec_and_level : public ::testing::TestWithParam<codec_level> {};

TEST_P(every_codec_and_level, round_trips_and_counts_what_it_writes) {
    const auto [codec, level] = GetParam();
    const std::string compressible[] = {text_bytes(40'000, 2), run_bytes(40'000, 3)};
    const std::string inputs[] = {"", "x", random_bytes(20'000, 1), compressible[0],
                                  compressible[1]};
    for (const auto& in : compressible)
        EXPECT_LT(compressed_nbytes(*codec, in, level), in.size() / 2)
            << codec->name << ':' << level;
    for (const auto& in : inputs) {
        const std::string packed = compress_to_string(*codec, in, level);
        EXPECT_EQ(codec->decompress(packed, in.size()), in)
            << codec->name << ':' << level << " on " << in.size() << " bytes";
        EXPECT_EQ(compressed_nbytes(*codec, in, level), packed.size());
    }
}

INSTANTIATE_TEST_SUITE_P(registry, every_codec_and_level, ::testing::ValuesIn(every_codec_level()),
                         [](const auto& param_info) {
                             return std::string(param_info.param.codec->name) + "_" +
                                    std::to_string(param_info.param.level);
                         });

TEST(decompress, refuses_output_over_the_limit_and_corrupt_input) {
    const std::string in = text_bytes(10'000, 4);
    for (const codec_descriptor* c : all_codecs()) {
        const std::string packed = compress_to_string(*c, in, c->default_level);
        EXPECT_THROW(c->decompress(packed, in.size() - 1), std::runtime_error) << c->name;
        EXPECT_THROW(c->decompress(packed.substr(0, packed.size() / 2), in.size()),
                     std::runtime_error)
            << c->name;
    }
}

TEST(registry, unknown_codec_is_an_error_naming_the_known_ones) {
    auto r = find_codec("lzma9000");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.err().kind, error_kind::unprocessable);
    EXPECT_NE(r.err().message.find("gzip"), std::string::npos);
    EXPECT_NE(r.err().message.find("zstd"), std::string::npos);
}

TEST(registry, out_of_range_level_names_the_valid_range) {
    const auto& zstd = **find_codec("zstd");
    auto r = check_level(zstd, 23);
    ASSERT_FALSE(r);
    EXPECT_NE(r.err().message.find("1 to 22"), std::string::npos) << r.err().message;
    EXPECT_TRUE(check_level(zstd, 22));
}

TEST(registry, names_are_unique_and_ranges_sane) {
    std::set<std::string_view> names;
    for (const codec_descriptor* c : all_codecs()) {
        EXPECT_TRUE(names.insert(c->name).second) << c->name;
        EXPECT_LE(c->min_level, c->default_level);
        EXPECT_LE(c->default_level, c->max_level);
        for (int level = c->min_level; level <= c->max_level; ++level)
            EXPECT_GT(c->cost_ns_per_byte(level), 0) << c->name << ':' << level;
    }
}

// gzip = deflate + 18 and zlib = deflate + 6 must hold exactly, or the report's derived sizes
// would be wrong: compare against real gzip and zlib streams.
TEST(derived_sizes, gzip_and_zlib_equal_deflate_plus_their_framing_at_every_level) {
    std::vector<std::string> inputs = {"", "a", "abc"};
    for (std::uint32_t seed = 0; seed < 8; ++seed) {
        inputs.push_back(text_bytes(1'000 + seed * 7'919, seed));
        inputs.push_back(random_bytes(500 + seed * 3'001, seed));
        inputs.push_back(run_bytes(2'000 + seed * 5'003, seed));
    }
    ASSERT_GE(inputs.size(), 20u);
    for (const auto& in : inputs)
        for (int level = codecs::deflate_codec.min_level; level <= codecs::deflate_codec.max_level;
             ++level) {
            const auto deflate = compressed_nbytes(codecs::deflate_codec, in, level);
            EXPECT_EQ(compressed_nbytes(codecs::gzip_codec, in, level),
                      deflate + codecs::gzip_codec.derived_overhead_nbytes)
                << "level " << level << ", " << in.size() << " bytes";
            EXPECT_EQ(compressed_nbytes(codecs::zlib_codec, in, level),
                      deflate + codecs::zlib_codec.derived_overhead_nbytes)
                << "level " << level << ", " << in.size() << " bytes";
        }
}

std::size_t bzip2_reference_size(const std::string& in, int level) {
    std::string out(in.size() + in.size() / 100 + 600, '\0');
    unsigned out_n = static_cast<unsigned>(out.size());
    if (BZ2_bzBuffToBuffCompress(out.data(), &out_n, const_cast<char*>(in.data()),
                                 static_cast<unsigned>(in.size()), level, 0, 0) != BZ_OK)
        throw std::runtime_error("BZ2_bzBuffToBuffCompress failed");
    return out_n;
}

std::size_t bzip2_size_from_pieces(const std::string& in, int level) {
    const auto& bz = **find_codec("bzip2");
    std::uint64_t nbits = 0;
    for (auto piece : bz.split(in, level))
        nbits += bz.piece_nbits(piece, level);
    return bz.assemble_nbytes(nbits, level);
}

// The report compresses bzip2's blocks in parallel; the reassembled size must be exactly
// the single-stream size, on inputs that span several blocks, run-heavy ones included.
TEST(bzip2_blocks, reassembled_size_equals_single_stream_size) {
    int cases = 0, multi_block = 0;
    const auto& bz = **find_codec("bzip2");
    for (std::uint32_t seed = 0; seed < 18; ++seed) {
        const std::size_t n = 150'000 + seed * 23'417;
        // Runs shrink under bzip2's run-length stage, so run-heavy inputs are made longer to
        // still span several blocks.
        for (const auto& in :
             {text_bytes(n, seed), run_bytes(n * 8, seed), random_bytes(n, seed)}) {
            const int level = 1 + static_cast<int>(seed % 2); // 100-200 kB blocks
            EXPECT_EQ(bzip2_size_from_pieces(in, level), bzip2_reference_size(in, level))
                << "seed " << seed << ", " << in.size() << " bytes, level " << level;
            multi_block += bz.split(in, level).size() > 1;
            ++cases;
        }
    }
    // Runs of exactly the lengths where the run-length stage changes behaviour, long enough
    // that block boundaries fall among them (about 250 kB after run-length encoding).
    for (std::size_t run : {3u, 4u, 5u, 251u, 255u, 256u, 259u, 511u}) {
        const std::size_t encoded_nbytes = (run / 255) * 5 + (run % 255 < 4 ? run % 255 : 5);
        std::string in;
        for (std::size_t i = 0; in.size() < 250'000 * run / encoded_nbytes; ++i)
            in.append(run, static_cast<char>('a' + i % 2));
        EXPECT_EQ(bzip2_size_from_pieces(in, 1), bzip2_reference_size(in, 1)) << "runs of " << run;
        multi_block += bz.split(in, 1).size() > 1;
        ++cases;
    }
    for (const std::string& edge :
         {std::string(), std::string("z"), std::string(99'981, 'q') + "r"}) {
        EXPECT_EQ(bzip2_size_from_pieces(edge, 1), bzip2_reference_size(edge, 1)) << edge.size();
        ++cases;
    }
    EXPECT_GE(cases, 50);
    EXPECT_GE(multi_block, 40);
}

TEST(bzip2_blocks, pieces_cover_the_input_in_order) {
    const auto& bz = **find_codec("bzip2");
    const std::string in = text_bytes(700'000, 9);
    const auto pieces = bz.split(in, 1);
    ASSERT_GT(pieces.size(), 2u);
    std::size_t offset = 0;
    for (auto p : pieces) {
        EXPECT_EQ(p.data(), in.data() + offset);
        offset += p.size();
    }
    EXPECT_EQ(offset, in.size());
}

} // namespace
} // namespace compresstest
