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
    double ns_per_byte; // single-thread CPU time per input byte, mean over the corpus's kinds
};

// The table in core/codec/costs.csv, compiled in by the build; immutable, any thread.
std::span<const measured_cost> measured_costs();

// Estimated single-thread CPU nanoseconds per input byte of c at level: the measured figure of
// base_of(c). A codec × level the table lacks (one added since the last calibration) gets the
// costliest measured figure, so that the CPU budget still bounds it until it is measured.
double cost_ns_per_byte(const codec_descriptor& c, int level);

// Estimated single-thread CPU nanoseconds per input byte of decompressing c's output, for the
// CPU budget. Calibration measures compression only; decompressing a format costs less than
// compressing it at its fastest level, for every codec here, so the cheapest measured level of
// any codec writing the same format (the same base, or the same content-coding) stands in.
double decompress_ns_per_byte(const codec_descriptor& c);

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

// Single-thread CPU nanoseconds per byte of c at level on sample, as the options say.
double measure_ns_per_byte(const codec_descriptor& c, int level, std::string_view sample,
                           const calibration_options& options);

// Measures every base codec × level of the registry on the corpus, one at a time on the
// calling thread; calls measured(row, per-kind figures in corpus_kinds order) as each row is
// done, in registry order. Takes minutes: the slowest levels use a slice of each sample.
using calibration_progress =
    std::function<void(const measured_cost&, std::span<const double> per_kind_ns_per_byte)>;
void calibrate(const calibration_options& options, const calibration_progress& measured);

} // namespace compresstest
