// The CPU cost per input byte of every codec × level: the measured table the build embeds, the
// lookup the CPU budget uses, and the calibration that measures it.
#pragma once

#include "codec.hpp"

#include <array>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace compresstest {

// One row of core/codec/costs.csv. Only codecs without derived_from have rows: gzip and zlib
// cost what deflate costs.
struct measured_cost {
    std::string_view codec;
    int level;
    // Single-thread CPU time per input byte, mean over the corpus's kinds: of compressing at
    // level, and of decompressing what that level wrote (per byte of the original).
    double compress_ns_per_byte;
    double decompress_ns_per_byte;
    // A codec that cuts its input into blocks (bzip2) costs more per byte on whole blocks than
    // on the CPU budget's short sample of them (block_sample_*): compression and decompression
    // per byte on whole blocks ÷ on that sample, mean over the corpus's kinds. 1 for others.
    double block_sample_factor;
};

// The table in core/codec/costs.csv, compiled in by the build; immutable, any thread.
std::span<const measured_cost> measured_costs();

// Estimated single-thread CPU nanoseconds per input byte of c at level: the measured figure of
// base_of(c). A codec × level the table lacks (one added since the last calibration) gets the
// costliest measured figure, so that the CPU budget still bounds it until it is measured.
double cost_ns_per_byte(const codec_descriptor& c, int level);

// Estimated single-thread CPU nanoseconds per byte of the original of decompressing what c wrote
// at level: the measured figure of base_of(c), or the costliest measured one when the table
// lacks the level.
double decompress_ns_per_byte(const codec_descriptor& c, int level);

// block_sample_factor of base_of(c) at level (1 when the table lacks it).
double block_sample_factor(const codec_descriptor& c, int level);

// slices slices of in spread evenly over it, nbytes together (in itself when it is no longer).
std::string spread_sample(std::string_view in, std::size_t nbytes, std::size_t slices);

// The sample of its input the CPU budget measures a codec that cuts it into blocks on: fewer,
// longer slices than other codecs', as such a codec's cost depends on runs that repeat within
// a block, which short slices cut.
inline constexpr std::size_t block_sample_nbytes = 128 * 1024;
inline constexpr std::size_t block_sample_slices = 2;

// --- calibration (`compresstest report --calibrate`) -----------------------------------------

struct calibration_options {
    std::size_t sample_nbytes = 1 << 20; // each kind of the corpus
    // A measurement starts from a slice of first_slice_nbytes of the sample and grows it until
    // one run takes min_run_ms (or the whole sample is used), then repeats it until the runs
    // add up to min_total_ms; the figure is the median per byte. Smaller first slices overstate
    // some codecs' cost per byte (Zopfli on 8 KiB: 4 times its figure on 128 KiB).
    std::size_t first_slice_nbytes = 64 * 1024;
    double min_run_ms = 150;
    double min_total_ms = 300;
    int max_runs = 5;
};

// The kinds of the built-in corpus: prose-like text, machine-code-like binary and
// already-compressed (incompressible) bytes.
inline constexpr std::array<std::string_view, 3> corpus_kinds = {"text", "binary", "compressed"};

// One sample of each of corpus_kinds, in that order, nbytes each, generated deterministically
// (the same bytes on every machine).
std::vector<std::string> calibration_corpus(std::size_t nbytes);

// Single-thread CPU nanoseconds per byte of c at level on sample, as the options say: of the
// compression, and of decompressing the slice it compressed (repeated to min_total_ms too).
struct ns_per_byte {
    double compress;
    double decompress;
};
ns_per_byte measure_ns_per_byte(const codec_descriptor& c, int level, std::string_view sample,
                                const calibration_options& options);

// Measures every base codec × level of the registry on the corpus, one at a time on the
// calling thread; calls measured(row, per-kind figures in corpus_kinds order) as each row is
// done, in registry order. Takes minutes: the slowest levels use a slice of each sample.
using calibration_progress =
    std::function<void(const measured_cost&, std::span<const ns_per_byte> per_kind)>;
void calibrate(const calibration_options& options, const calibration_progress& measured);

} // namespace compresstest
