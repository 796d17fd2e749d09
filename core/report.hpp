// Input bytes + a panel of codec:level entries → sizes, verified round trips, CPU timings, peak
// memory and the Pareto frontier, in parallel, each entry handed over as it finishes.
#pragma once

#include "codec/codec.hpp"
#include "result.hpp"

#include <cstddef>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace compresstest {

struct panel_entry {
    const codec_descriptor* codec;
    int level;
    bool operator==(const panel_entry&) const = default;
};
using panel = std::vector<panel_entry>;

// Parses "gzip:1-9,zstd:3,brotli" (a bare name means its default level) or "all" (every
// codec at every level). Duplicates are dropped, order kept. Errors (unprocessable) name the
// bad entry and the valid range. spec longer than max_spec_nbytes is refused.
result<panel> parse_panel(std::string_view spec, std::size_t max_spec_nbytes = 1024);
// gzip 6 and 9, deflate 9, zlib 9, bzip2 9, zstd 3, brotli 5, lz4 1.
const panel& default_panel();
std::string format_panel(const panel& p); // back to the "gzip:6,gzip:9" syntax

// The original API's keys besides original_size: each is the size of one panel entry, and a
// report carries the key when its panel holds that entry.
struct original_key {
    std::string_view key;
    std::string_view codec;
    int level;
};
inline constexpr original_key original_keys[] = {
    {"gzip_size", "gzip", 9}, {"bzip_size", "bzip2", 9}, {"deflate_size", "deflate", 9}};
// p with the entries behind original_keys appended where missing, for the original client's
// address (POST /), which always answers with all four keys.
panel with_original_entries(panel p);

// Makes the C heap keep what the codecs free, process-wide: blocks up to 32 MiB from the heap
// rather than mmap, up to 64 MiB free at a heap's top kept rather than handed back, 16 MiB of
// headroom on growth. glibc's defaults map and unmap a large context on every run (brotli's,
// zstd's, bzip2's) or trim the heap under it, and the page faults that follow made a run on a
// small input cost 1 to 8 times its median, by chance; repeated runs are to time the codec.
// Call once, before threads start.
void keep_freed_memory_for_repeated_runs();

// How the report times each entry: until its runs add up to timing_floor_ms of CPU time.
// Compression runs until its runs have half of it, then decompression until the two together
// have all of it; each runs at least once (a long run once) and at most max_runs times (tiny
// inputs). A split codec's pieces share the entry's floor. timing_floor_ms >= 0, max_runs >= 1.
struct measure_options {
    double timing_floor_ms = 20;
    int max_runs = 10'000;
    // Where a small report, measured on one thread (README, "The report response"), runs;
    // empty: the report's executor. A server passes one that prefers a fixed CPU, so that two
    // identical requests are timed on the same CPU: a virtual CPU has fast and slow spells of
    // its own, and the two CPUs of one machine can differ by 1.8 times at the same moment.
    std::function<void(std::function<void()>)> interleaved_executor = {};
};

// Estimated single-thread CPU milliseconds to run p on in_nbytes of input, counting each
// distinct compression once (gzip:9 and deflate:9 share one), its decompression, and the
// repeats options asks for, from the measured costs (codec/costs.hpp). A server compares it
// with its CPU budget.
double estimate_cpu_ms(const panel& p, std::size_t in_nbytes, const measure_options& options = {});

// Runs tasks somewhere (a thread pool); must accept tasks from any thread.
using executor = std::function<void(std::function<void()>)>;

// The estimate for this input rather than for its size: each distinct compression the table
// says is cheap on a sample of the input is compressed and decompressed on that sample, and
// its per-byte CPU time there replaces the table's (which is a mean over the calibration
// corpus: per-byte costs vary several-fold between text and machine code). The sample is
// sample_slices slices spread over the input, sample_nbytes together; inputs up to
// min_input_nbytes use the table alone (the repeats to the floor dominate there). Sampling
// spends at most max_sampling_ms of CPU per estimate, max_entry_sampling_ms (by the table)
// per compression; the rest keep the table's figures.
struct estimate_options {
    std::size_t sample_nbytes = 256 * 1024;
    std::size_t sample_slices = 16;
    std::size_t min_input_nbytes = 512 * 1024;
    double max_sampling_ms = 60;
    double max_entry_sampling_ms = 20;
    // The report's timing floor: a compression whose runs the table puts well under it is not
    // sampled (its charge is the floor's repeats).
    double timing_floor_ms = measure_options{}.timing_floor_ms;
    // Sampling only when the table's estimate of the report is above this (0: always): a
    // server that only compares the estimate with its limit passes a fraction of the limit
    // the table's errors cannot bridge, and a report far under it starts sooner.
    double sample_above_ms = 0;
};
struct compression_estimate {
    const codec_descriptor* base;
    int level;
    double compress_ns_per_byte;
    double decompress_ns_per_byte;
    bool sampled;               // measured on the input's sample, not the table's
    double compress_run_ms = 0; // one run on the whole input
    double decompress_run_ms = 0;
};
std::vector<compression_estimate> estimate_compressions(const panel& p, std::string_view in,
                                                        const estimate_options& e = {});
// The same, with the compressions sampled as tasks on ex (at once, as a report's are); done is
// called once with the estimates in plan order, on whichever thread finishes last (on the
// calling thread when nothing is sampled). in must stay valid until then.
using estimate_callback = std::function<void(std::vector<compression_estimate>)>;
void estimate_compressions_async(const panel& p, std::string_view in, const executor& ex,
                                 estimate_callback done, const estimate_options& e = {});
// The CPU the report would spend: each run repeated as options asks.
double estimate_cpu_ms(std::span<const compression_estimate> estimates,
                       const measure_options& options = {});

// CPU milliseconds per run of one operation, over its runs. Fast runs are timed in batches;
// median and minimum are over the batches' per-run times.
struct timing {
    double median_ms = 0;
    double min_ms = 0;
    int runs = 0;
};

// One panel entry's figures. A derived entry (gzip, zlib) shares its base's compression, so
// its timings and its verification are those of the base stream (the framing is not timed).
// A split codec's figures are the sums over its pieces (runs: the fewest of any piece; peak
// memory: the most of any piece, as each piece is a stream of its own).
struct entry_result {
    const codec_descriptor* codec;
    int level;
    std::size_t size;
    timing compress;
    timing decompress;
    bool verified; // the decompressed output equals the input byte for byte
    // The library's heap at its peak during one run (memory_meter); none where the library
    // has no allocator hook (compress_metered, decompress_metered).
    std::optional<std::size_t> compress_peak_nbytes;
    std::optional<std::size_t> decompress_peak_nbytes;
    // On the panel's Pareto frontier of size vs median compression (decompression) time: no
    // other entry is at least as small and as fast, and strictly one of them.
    bool pareto_compress;
    bool pareto_decompress;
};

struct report {
    std::size_t original_size = 0;
    std::vector<entry_result> results; // in panel order, exactly the panel's entries
    double elapsed_ms = 0;             // wall time of the whole fan-out
};

// The size of codec at level in r, if r's panel held that entry.
std::optional<std::size_t> size_of(const report& r, std::string_view codec, int level);

using report_callback = std::function<void(result<report>)>;
// Called with each entry's figures as soon as they are known, for streaming (NDJSON).
using entry_callback = std::function<void(const entry_result&)>;

// Fans the panel out as independent tasks through ex (biggest first, so the last task to
// finish is a small one) and calls done exactly once, on whichever thread finishes last.
// Each compression's output is decompressed and compared with the input: a mismatch or a
// failing decompression is an internal error naming the codec and level (our bug, never the
// client's). in must stay valid until done is called. Never blocks the calling thread.
//
// on_entry, if set, is called once per panel entry as soon as its compression is measured, on
// the thread that finished it: calls may come from several threads at once, in any order, all
// before done. The Pareto flags are known only once every entry is, so an entry passed to
// on_entry has them false; the report given to done has them. If the report fails, done gets
// the error even though on_entry may already have been called for other entries.
//
// cancelled, if set, is asked before each piece is measured (and between the steps of
// interleaved pieces): once it says true, what is left is skipped and done gets an error.
using cancel_check = std::function<bool()>;
void run_report_async(std::string_view in, const panel& p, const executor& ex, report_callback done,
                      const measure_options& options = {}, entry_callback on_entry = {},
                      cancel_check cancelled = {});

// Blocking convenience for the command line: waits for run_report_async.
result<report> run_report(std::string_view in, const panel& p, const executor& ex,
                          const measure_options& options = {});

// v in fixed notation with four significant digits and at least min_decimals decimals (a run
// on a small input takes microseconds): how the JSON and the command line write times and
// speeds.
std::string significant(double v, int min_decimals);

// One entry of results[] as JSON (the keys below), for the report and for streamed lines;
// original_nbytes is the input's size, for ratio and MB/s.
std::string to_json(const entry_result& e, std::size_t original_nbytes);

// The API's JSON: original_size, each of original_keys whose entry r holds, results[] and
// elapsed_ms. Each result: codec, level, size, ratio; compress_ms and decompress_ms (median
// CPU ms per run), compress_min_ms, decompress_min_ms, runs and decompress_runs,
// compress_mb_s and decompress_mb_s (input MB, 10^6 bytes, per CPU second of the median run;
// null when the median or the input is 0; ratio too is null for an empty input), verified,
// compress_peak_bytes and decompress_peak_bytes (null where the library has no allocator hook),
// pareto {compress, decompress}.
//
// wire: what serving the input would cost (core/wire.hpp). identity is the unencoded body;
// chosen is the entry (or identity, codec and level null) a server honouring accept_encoding
// would send, null when the client refuses all; each entry whose codec is an HTTP
// content-coding has its own "wire". accept_encoding absent: the client sent no header, which
// accepts every coding.
std::string to_json(const report& r, std::optional<std::string_view> accept_encoding = {});

} // namespace compresstest
