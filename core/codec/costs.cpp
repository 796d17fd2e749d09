// Measured codec costs: the lookup the CPU budget uses, the built-in corpus and the calibration.
#include "costs.hpp"

#include "../cpu_time.hpp"
#include "registry.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <random>
#include <stdexcept>

namespace compresstest {
namespace {

// The costliest figures of the table, for the levels it lacks.
const ns_per_byte& costliest_measured() {
    static const ns_per_byte most = [] {
        ns_per_byte m{0, 0};
        for (const auto& row : measured_costs()) {
            m.compress = std::max(m.compress, row.compress_ns_per_byte);
            m.decompress = std::max(m.decompress, row.decompress_ns_per_byte);
        }
        return m;
    }();
    return most;
}

const measured_cost* row_of(const codec_descriptor& c, int level) {
    const codec_descriptor& base = base_of(c);
    for (const auto& row : measured_costs())
        if (row.codec == base.name && row.level == level) return &row;
    return nullptr;
}

// Zipf-distributed ranks over n items, as word and instruction frequencies are.
class zipf_picker {
public:
    zipf_picker(std::size_t n, double exponent) {
        double total = 0;
        for (std::size_t rank = 1; rank <= n; ++rank)
            cumulative_.push_back(total += 1.0 / std::pow(static_cast<double>(rank), exponent));
    }
    std::size_t operator()(std::mt19937& rng) const {
        const double u = std::uniform_real_distribution<double>(0, cumulative_.back())(rng);
        return static_cast<std::size_t>(
            std::lower_bound(cumulative_.begin(), cumulative_.end(), u) - cumulative_.begin());
    }

private:
    std::vector<double> cumulative_;
};

// Words with English letter frequencies and lengths, for prose, identifiers and log fields.
std::vector<std::string> made_up_words(std::mt19937& rng, std::size_t n) {
    static constexpr std::string_view letters = "etaoinshrdlcumwfgypbvkjxqz";
    static constexpr std::array<double, 26> frequency = {
        12.7, 9.1, 8.2, 7.5, 7.0, 6.7, 6.3, 6.1, 6.0, 4.3, 4.0, 2.8, 2.8,
        2.4,  2.4, 2.2, 2.0, 2.0, 1.9, 1.5, 1.0, 0.8, 0.2, 0.2, 0.1, 0.1};
    std::discrete_distribution<std::size_t> letter(frequency.begin(), frequency.end());
    std::binomial_distribution<int> length(11, 0.4);
    std::vector<std::string> words;
    while (words.size() < n) {
        std::string w;
        for (int k = 0, count = 1 + length(rng); k < count; ++k)
            w += letters[letter(rng)];
        words.push_back(std::move(w));
    }
    return words;
}

// What people paste: prose wrapped at 72 columns, source code and log lines, in blocks.
std::string text_sample(std::size_t nbytes, std::mt19937& rng) {
    const auto words = made_up_words(rng, 3000);
    const zipf_picker pick(words.size(), 1.1);
    auto word = [&] { return words[pick(rng)]; };
    std::string s;
    std::uint64_t clock_ms = 1'700'000'000'000;
    while (s.size() < nbytes) {
        const unsigned block = rng() % 12;
        const int nlines = 5 + static_cast<int>(rng() % 40);
        if (block >= 10 && s.size() > 4096) { // boilerplate: a stretch seen before, repeated
            const std::size_t n = 256 + rng() % 3840;
            const std::size_t from = rng() % (s.size() - n);
            s += s.substr(from, n);
        } else if (block < 4) { // prose
            std::string line;
            for (int words_left = nlines * 11; words_left > 0; --words_left) {
                std::string w = word();
                if (rng() % 12 == 0) w += rng() % 2 ? "." : ",";
                if (line.size() + w.size() + 1 > 72) {
                    s += line + "\n";
                    line.clear();
                }
                line += (line.empty() ? "" : " ") + w;
            }
            s += line + "\n\n";
        } else if (block < 8) { // code
            int depth = 0;
            for (int i = 0; i < nlines; ++i) {
                const std::string indent(4 * static_cast<std::size_t>(depth), ' ');
                switch (rng() % 6) {
                case 0:
                    s += indent + "if (" + word() + "_" + word() + " == " + word() + ") {\n";
                    ++depth;
                    break;
                case 1:
                    if (depth > 0) {
                        --depth;
                        s += std::string(4 * static_cast<std::size_t>(depth), ' ') + "}\n";
                        break;
                    }
                    [[fallthrough]];
                case 2:
                    s += indent + "return " + word() + "(" + word() + ", " +
                         std::to_string(rng() % 100) + ");\n";
                    break;
                case 3:
                    s += indent + "// " + word() + " " + word() + " " + word() + "\n";
                    break;
                default:
                    s += indent + "auto " + word() + " = " + word() + "." + word() + "(" + word() +
                         ");\n";
                }
            }
            while (depth-- > 0)
                s += std::string(4 * static_cast<std::size_t>(depth), ' ') + "}\n";
        } else { // log lines
            for (int i = 0; i < nlines; ++i) {
                clock_ms += rng() % 2000;
                s += std::to_string(clock_ms) + " level=" + (rng() % 5 ? "info" : "warn") +
                     " msg=\"" + word() + " " + word() + "\" id=" + std::to_string(rng() % 100000) +
                     " took_ms=" + std::to_string(rng() % 300) + "\n";
            }
        }
    }
    s.resize(nbytes);
    return s;
}

// What an executable holds: instruction-like byte patterns with varying operands, tables of
// little-endian offsets, NUL-terminated symbol names and zero padding.
std::string binary_sample(std::size_t nbytes, std::mt19937& rng) {
    struct instruction {
        std::string opcode;
        int operand_nbytes;
    };
    std::vector<instruction> instructions;
    for (int i = 0; i < 200; ++i) {
        std::string opcode(1 + rng() % 3, '\0');
        for (auto& b : opcode)
            b = static_cast<char>(rng());
        instructions.push_back({opcode, static_cast<int>(rng() % 6)});
    }
    const zipf_picker pick_instruction(instructions.size(), 1.3);
    // Operands are mostly a few common values (stack offsets, small constants).
    std::vector<std::uint64_t> operands;
    for (std::uint64_t v = 0; v < 64; ++v)
        operands.push_back(v % 2 ? v : 8 * v);
    const zipf_picker pick_operand(operands.size(), 1.2);
    const auto names = made_up_words(rng, 800);
    const zipf_picker pick_name(names.size(), 0.9);
    auto put_le = [](std::string& s, std::uint64_t v, int n) {
        for (int k = 0; k < n; ++k)
            s += static_cast<char>((v >> (8 * k)) & 0xff);
    };
    std::string s;
    while (s.size() < nbytes) {
        const unsigned section = rng() % 20;
        if (section < 10) { // code: common operands, sometimes a relative call or jump
            for (int i = 0, n = 64 + static_cast<int>(rng() % 1024); i < n; ++i) {
                const auto& ins = instructions[pick_instruction(rng)];
                s += ins.opcode;
                const std::uint64_t operand =
                    rng() % 8 == 0
                        ? static_cast<std::uint32_t>(static_cast<int>(rng() % 65536) - 32768)
                        : operands[pick_operand(rng)];
                put_le(s, operand, ins.operand_nbytes);
            }
        } else if (section < 14) { // offsets and pointers into the image
            std::uint64_t address = 0x400000 + rng() % 0x100000;
            for (int i = 0, n = 16 + static_cast<int>(rng() % 256); i < n; ++i) {
                address += 8 * (1 + rng() % 32);
                put_le(s, address, 8);
            }
        } else if (section < 17) { // symbol names
            for (int i = 0, n = 8 + static_cast<int>(rng() % 64); i < n; ++i) {
                s += "_ZN";
                for (int part = 0, parts = 1 + static_cast<int>(rng() % 3); part < parts; ++part) {
                    const auto& w = names[pick_name(rng)];
                    s += std::to_string(w.size()) + w;
                }
                s += "Ev";
                s += '\0';
            }
        } else { // alignment padding
            s.append(16 + rng() % 4096, '\0');
        }
    }
    s.resize(nbytes);
    return s;
}

// Already-compressed data looks random to a compressor.
std::string compressed_sample(std::size_t nbytes, std::mt19937& rng) {
    std::string s(nbytes, '\0');
    for (auto& c : s)
        c = static_cast<char>(rng() & 0xff);
    return s;
}

// CPU milliseconds of one compression of in, counting the bytes (what a report does).
double run_ms(const codec_descriptor& c, int level, std::string_view in) {
    const double t0 = thread_cpu_ms();
    compressed_nbytes(c, in, level);
    return thread_cpu_ms() - t0;
}

// CPU milliseconds of one decompression of packed back to its original_nbytes.
double decompress_run_ms(const codec_descriptor& c, std::string_view packed,
                         std::size_t original_nbytes) {
    const double t0 = thread_cpu_ms();
    const std::string out = decompress_to_string(c, packed, original_nbytes);
    const double ms = thread_cpu_ms() - t0;
    if (out.size() != original_nbytes)
        throw std::runtime_error("calibration: " + std::string(c.name) +
                                 " did not decompress to the original size");
    return ms;
}

// The median of runs, each taken by run(), repeated until they add up to min_total_ms or
// max_runs (at least 3 when they are quick, for a median that means something).
template <class Run>
double median_ms(double first_ms, const calibration_options& options, Run run) {
    std::vector<double> runs_ms = {first_ms};
    double total_ms = first_ms;
    while (total_ms < options.min_total_ms && static_cast<int>(runs_ms.size()) < options.max_runs) {
        runs_ms.push_back(run());
        total_ms += runs_ms.back();
    }
    std::sort(runs_ms.begin(), runs_ms.end());
    return runs_ms[runs_ms.size() / 2];
}

} // namespace

double cost_ns_per_byte(const codec_descriptor& c, int level) {
    const measured_cost* row = row_of(c, level);
    return row ? row->compress_ns_per_byte : costliest_measured().compress;
}

double decompress_ns_per_byte(const codec_descriptor& c, int level) {
    const measured_cost* row = row_of(c, level);
    return row ? row->decompress_ns_per_byte : costliest_measured().decompress;
}

double block_sample_factor(const codec_descriptor& c, int level) {
    const measured_cost* row = row_of(c, level);
    return row ? row->block_sample_factor : 1;
}

std::string spread_sample(std::string_view in, std::size_t nbytes, std::size_t slices) {
    if (in.size() <= nbytes || slices < 2) return std::string(in.substr(0, nbytes));
    const std::size_t slice = nbytes / slices;
    const std::size_t stride = (in.size() - slice) / (slices - 1);
    std::string out;
    for (std::size_t i = 0; i < slices; ++i)
        out += in.substr(i * stride, slice);
    return out;
}

std::vector<std::string> calibration_corpus(std::size_t nbytes) {
    std::mt19937 rng(20240527); // fixed: the same corpus on every machine
    return {text_sample(nbytes, rng), binary_sample(nbytes, rng), compressed_sample(nbytes, rng)};
}

ns_per_byte measure_ns_per_byte(const codec_descriptor& c, int level, std::string_view sample,
                                const calibration_options& options) {
    if (sample.empty()) throw std::invalid_argument("calibration: empty sample");
    constexpr double max_growth = 16;
    std::size_t slice = std::min(options.first_slice_nbytes, sample.size());
    double ms = run_ms(c, level, sample.substr(0, slice));
    while (ms < options.min_run_ms && slice < sample.size()) {
        // Aim a little past the target so that one more run usually suffices.
        const double growth =
            std::clamp(1.5 * options.min_run_ms / std::max(ms, 1e-3), 2.0, max_growth);
        slice =
            std::min(sample.size(), static_cast<std::size_t>(static_cast<double>(slice) * growth));
        ms = run_ms(c, level, sample.substr(0, slice));
    }
    const std::string_view in = sample.substr(0, slice);
    const double compress_ms = median_ms(ms, options, [&] { return run_ms(c, level, in); });
    // Decompression is often 10-100 times quicker: its runs repeat to the same total, up to
    // a hundred times max_runs.
    const std::string packed = compress_to_string(c, in, level);
    calibration_options decompress_options = options;
    decompress_options.max_runs = 100 * options.max_runs;
    const double decompress_ms =
        median_ms(decompress_run_ms(c, packed, in.size()), decompress_options,
                  [&] { return decompress_run_ms(c, packed, in.size()); });
    const double nbytes = static_cast<double>(slice);
    return {compress_ms * 1e6 / nbytes, decompress_ms * 1e6 / nbytes};
}

void calibrate(const calibration_options& options, const calibration_progress& measured) {
    const auto corpus = calibration_corpus(options.sample_nbytes);
    for (const codec_descriptor* c : all_codecs()) {
        if (c->derived_from) continue;
        for (int level = c->min_level; level <= c->max_level; ++level) {
            std::vector<ns_per_byte> per_kind;
            ns_per_byte sum{0, 0};
            double factors = 0;
            for (const auto& sample : corpus) {
                per_kind.push_back(measure_ns_per_byte(*c, level, sample, options));
                sum.compress += per_kind.back().compress;
                sum.decompress += per_kind.back().decompress;
                if (!c->split) continue;
                const auto sampled = measure_ns_per_byte(
                    *c, level, spread_sample(sample, block_sample_nbytes, block_sample_slices),
                    options);
                factors += (per_kind.back().compress + per_kind.back().decompress) /
                           (sampled.compress + sampled.decompress);
            }
            const auto kinds = static_cast<double>(per_kind.size());
            measured({c->name, level, sum.compress / kinds, sum.decompress / kinds,
                      c->split ? factors / kinds : 1.0},
                     per_kind);
        }
    }
}

} // namespace compresstest
