// compresstest report: the same report as the API, printed as a table or as the API's JSON; and
// --calibrate, which measures every codec level and writes the cost table the build embeds.
#include "faces.hpp"

#include "codec/costs.hpp"
#include "codec/registry.hpp"
#include "report.hpp"
#include "thread_pool.hpp"

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <iterator>
#include <optional>
#include <sstream>
#include <thread>

namespace compresstest {
namespace po = boost::program_options;
namespace {

std::string human(std::size_t n) {
    if (n < 10 * 1024) return fmt::format("{} B", n);
    if (n < 10 * 1024 * 1024) return fmt::format("{:.1f} KiB", n / 1024.0);
    return fmt::format("{:.1f} MiB", n / (1024.0 * 1024.0));
}

enum class output_format { table, json, csv, markdown };

// One entry's figures as the cells of a row, for people (table, markdown: units, "n/a") or
// for programs (csv: plain numbers, empty where there is none).
struct column {
    std::string_view title;
    bool right_aligned;
};
constexpr column columns[] = {
    {"codec", false},    {"level", true},    {"size", true},       {"% of orig", true},
    {"comp MB/s", true}, {"comp ms", true},  {"runs", true},       {"decomp MB/s", true},
    {"decomp ms", true}, {"comp mem", true}, {"decomp mem", true}, {"verified", false},
    {"pareto", false},
};
constexpr std::string_view csv_titles =
    "file,codec,level,size,ratio,compress_mb_s,compress_ms,compress_min_ms,runs,"
    "decompress_mb_s,decompress_ms,decompress_min_ms,decompress_runs,compress_peak_bytes,"
    "decompress_peak_bytes,verified,pareto_compress,pareto_decompress";

// MB/s (10^6 bytes) of the median run; none for an empty input or a run too short to time.
std::optional<double> mb_s(std::size_t original, const timing& t) {
    if (original == 0 || !(t.median_ms > 0)) return std::nullopt;
    return original / t.median_ms / 1e3;
}

std::vector<std::string> human_cells(const entry_result& e, std::size_t original) {
    auto speed = [&](const timing& t) {
        const auto v = mb_s(original, t);
        return v ? fmt::format("{:.1f}", *v) : std::string("n/a");
    };
    auto memory = [](const std::optional<std::size_t>& n) {
        return n ? human(*n) : std::string("n/a");
    };
    std::string pareto = e.pareto_compress ? "C" : "";
    if (e.pareto_decompress) pareto += pareto.empty() ? "D" : " D";
    return {std::string(e.codec->name),
            std::to_string(e.level),
            std::to_string(e.size),
            original ? fmt::format("{:.2f}%", 100.0 * e.size / original) : "n/a",
            speed(e.compress),
            significant(e.compress.median_ms, 3),
            std::to_string(e.compress.runs),
            speed(e.decompress),
            significant(e.decompress.median_ms, 3),
            memory(e.compress_peak_nbytes),
            memory(e.decompress_peak_nbytes),
            e.verified ? "yes" : "NO",
            pareto};
}

// A CSV field: quoted when it holds a comma, a quote or a line break (RFC 4180).
std::string csv_field(std::string_view s) {
    if (s.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(s);
    std::string out = "\"";
    for (char c : s)
        out += c == '"' ? std::string("\"\"") : std::string(1, c);
    return out + '"';
}

std::string csv_row(const std::string& file, const entry_result& e, std::size_t original) {
    auto number = [](std::optional<double> v, int decimals) {
        return v ? fmt::format("{:.{}f}", *v, decimals) : std::string();
    };
    auto count = [](const std::optional<std::size_t>& n) {
        return n ? std::to_string(*n) : std::string();
    };
    const std::optional<double> ratio =
        original ? std::optional<double>(static_cast<double>(e.size) / original) : std::nullopt;
    return fmt::format(
        "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n", csv_field(file), e.codec->name,
        e.level, e.size, number(ratio, 4), number(mb_s(original, e.compress), 1),
        significant(e.compress.median_ms, 3), significant(e.compress.min_ms, 3), e.compress.runs,
        number(mb_s(original, e.decompress), 1), significant(e.decompress.median_ms, 3),
        significant(e.decompress.min_ms, 3), e.decompress.runs, count(e.compress_peak_nbytes),
        count(e.decompress_peak_nbytes), e.verified, e.pareto_compress, e.pareto_decompress);
}

// Aligned text, or a Markdown table; each column as wide as its widest cell, whatever the names.
void print_rows(std::ostream& out, const std::vector<std::vector<std::string>>& rows,
                bool markdown) {
    std::vector<std::size_t> width;
    for (const auto& c : columns)
        width.push_back(c.title.size());
    for (const auto& row : rows)
        for (std::size_t i = 0; i < row.size(); ++i)
            width[i] = std::max(width[i], row[i].size());
    auto line = [&](auto cell_of) {
        std::string text = markdown ? "|" : "";
        for (std::size_t i = 0; i < std::size(columns); ++i) {
            const std::string cell = cell_of(i);
            const std::string padded = columns[i].right_aligned
                                           ? fmt::format("{:>{}}", cell, width[i])
                                           : fmt::format("{:<{}}", cell, width[i]);
            text += markdown ? " " + padded + " |" : (i ? "  " : "") + padded;
        }
        while (!markdown && !text.empty() && text.back() == ' ')
            text.pop_back();
        out << text << '\n';
    };
    line([](std::size_t i) { return std::string(columns[i].title); });
    if (markdown)
        line([&](std::size_t i) {
            const std::string dashes(std::max<std::size_t>(width[i], 3) - 1, '-');
            return columns[i].right_aligned ? dashes + ":" : ":" + dashes;
        });
    for (const auto& row : rows)
        line([&](std::size_t i) { return row[i]; });
}

void print_report(std::ostream& out, output_format format, const std::string& name,
                  const report& r) {
    switch (format) {
    case output_format::json:
        out << to_json(r) << '\n';
        return;
    case output_format::csv:
        for (const auto& e : r.results)
            out << csv_row(name, e, r.original_size);
        return;
    case output_format::table:
    case output_format::markdown:
        break;
    }
    std::vector<std::vector<std::string>> rows;
    for (const auto& e : r.results)
        rows.push_back(human_cells(e, r.original_size));
    const bool markdown = format == output_format::markdown;
    out << fmt::format("{}{}: {} bytes ({}), report in {:.1f} ms\n", markdown ? "### " : "", name,
                       r.original_size, human(r.original_size), r.elapsed_ms);
    if (markdown) out << '\n';
    print_rows(out, rows, markdown);
    if (markdown) out << '\n';
}

// The budget's estimate against what was measured, per distinct compression: one run of
// compression and of decompression on the whole input, in CPU ms.
void print_estimate_check(std::ostream& out, const std::string& name, std::string_view data,
                          const panel& p, const report& r, const measure_options& measure,
                          const executor& ex) {
    const auto table = estimate_compressions(p, data, {.min_input_nbytes = SIZE_MAX});
    // Sampled on the report's threads, at once, as the server samples.
    std::promise<std::vector<compression_estimate>> promise;
    auto future = promise.get_future();
    estimate_compressions_async(
        p, data, ex, [&](std::vector<compression_estimate> e) { promise.set_value(std::move(e)); },
        {.timing_floor_ms = measure.timing_floor_ms});
    const auto sampled = future.get();
    out << fmt::format("{}: {} bytes; CPU ms of one run (c: compression, d: decompression), "
                       "estimated by the table and by sampling vs the measured median; then what "
                       "the budget charges, repeats included, vs what the report spent\n",
                       name, data.size());
    out << fmt::format("{:<14} {:>8} {:>8} {:>8} {:>6} {:>6}  {:>8} {:>8} {:>8} {:>6} {:>6}  "
                       "{:>8} {:>8} {:>6}\n",
                       "entry", "c table", "c sample", "c real", "err t", "err s", "d table",
                       "d sample", "d real", "err t", "err s", "charged", "spent", "err");
    auto err = [](double est, double real) {
        return real > 0 ? fmt::format("{:+.0f}%", 100 * (est - real) / real) : std::string("n/a");
    };
    double spent_total = 0;
    for (std::size_t i = 0; i < table.size(); ++i) {
        const entry_result* e = nullptr;
        for (const auto& x : r.results)
            if (&base_of(*x.codec) == table[i].base && x.level == table[i].level) e = &x;
        if (!e) continue;
        const double c = e->compress.median_ms, d = e->decompress.median_ms;
        const double spent = c * e->compress.runs + d * e->decompress.runs;
        const double charged = estimate_cpu_ms(std::span(&sampled[i], 1), measure);
        spent_total += spent;
        out << fmt::format("{:<14} {:>8.2f} {:>8.2f} {:>8.2f} {:>6} {:>6}  {:>8.2f} {:>8.2f} "
                           "{:>8.2f} {:>6} {:>6}  {:>8.1f} {:>8.1f} {:>6}\n",
                           fmt::format("{}:{}", table[i].base->name, table[i].level),
                           table[i].compress_run_ms, sampled[i].compress_run_ms, c,
                           err(table[i].compress_run_ms, c), err(sampled[i].compress_run_ms, c),
                           table[i].decompress_run_ms, sampled[i].decompress_run_ms, d,
                           err(table[i].decompress_run_ms, d), err(sampled[i].decompress_run_ms, d),
                           charged, spent, err(charged, spent));
    }
    out << fmt::format("whole report, repeats included: table {:.0f} ms, sampled {:.0f} ms, "
                       "spent {:.0f} ms ({} / {})\n",
                       estimate_cpu_ms(table, measure), estimate_cpu_ms(sampled, measure),
                       spent_total, err(estimate_cpu_ms(table, measure), spent_total),
                       err(estimate_cpu_ms(sampled, measure), spent_total));
}

// The bytes of a file or of standard input ("-"): an error naming the file for one that cannot
// be read, is a directory or holds more than max_nbytes.
result<std::string> read_input(const std::string& name, std::size_t max_nbytes) {
    std::ifstream file;
    std::istream* in = &std::cin;
    if (name != "-") {
        std::error_code ec;
        if (std::filesystem::is_directory(name, ec))
            return error{error_kind::bad_request,
                         name + " is a directory; name the files in it (report reads files, "
                                "not directories)"};
        file.open(name, std::ios::binary);
        if (!file) return error{error_kind::bad_request, "cannot read " + name};
        in = &file;
    }
    std::string data;
    char buffer[64 * 1024];
    while (in->read(buffer, sizeof buffer) || in->gcount() > 0) {
        if (data.size() + static_cast<std::size_t>(in->gcount()) > max_nbytes)
            return error{
                error_kind::too_large,
                fmt::format("{} holds more than {} bytes (--max-input-bytes)", name, max_nbytes)};
        data.append(buffer, static_cast<std::size_t>(in->gcount()));
    }
    if (in->bad()) return error{error_kind::bad_request, "cannot read " + name};
    return data;
}

// Measures every codec level on the built-in corpus and writes the table to path (through a
// temporary file, so an interrupted run leaves the old table), reporting progress on stderr.
int calibrate_to(const std::string& path) {
    const calibration_options options;
    std::string kinds;
    for (auto kind : corpus_kinds)
        kinds += std::string(kinds.empty() ? "" : ", ") + std::string(kind);
    std::string table = fmt::format(
        "# CPU ns per input byte of each codec level, compressing and decompressing, which the "
        "CPU budget\n# multiplies by the input size. Written by `compresstest report "
        "--calibrate`: single-thread CPU\n# time on the built-in corpus ({} KiB each of {}); "
        "the first two figures are the means of\n# the per-kind columns; block_sample_factor "
        "scales what the budget samples of codecs\n# that cut their input into blocks. Do not "
        "edit by hand.\n"
        "codec,level,compress_ns_per_byte,decompress_ns_per_byte,block_sample_factor",
        options.sample_nbytes / 1024, kinds);
    for (const char* what : {"compress", "decompress"})
        for (auto kind : corpus_kinds)
            table += fmt::format(",{}_{}", what, kind);
    table += "\n";
    calibrate(options, [&](const measured_cost& row, std::span<const ns_per_byte> per_kind) {
        std::string line = fmt::format("{},{},{:.2f},{:.2f},{:.3f}", row.codec, row.level,
                                       row.compress_ns_per_byte, row.decompress_ns_per_byte,
                                       row.block_sample_factor);
        for (const auto& ns : per_kind)
            line += fmt::format(",{:.2f}", ns.compress);
        for (const auto& ns : per_kind)
            line += fmt::format(",{:.2f}", ns.decompress);
        std::cerr << line << '\n';
        table += line + "\n";
    });
    const std::string tmp = path + ".tmp";
    {
        std::ofstream f(tmp, std::ios::binary);
        f << table;
        if (!f.flush()) {
            std::cerr << "compresstest report: cannot write " << tmp << '\n';
            return 1;
        }
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        std::cerr << "compresstest report: cannot replace " << path << '\n';
        return 1;
    }
    std::cerr << "compresstest report: wrote " << path << "; rebuild to embed it\n";
    return 0;
}

} // namespace

int run_report_cli(const std::vector<std::string>& args) {
    po::options_description opts("report options");
    opts.add_options()("help,h", "print this help")("json", "print the API's JSON")(
        "csv", "print CSV, one row per entry, a header first")("markdown",
                                                               "print a Markdown table per file")(
        "codecs", po::value<std::string>()->default_value(format_panel(default_panel())),
        "panel, e.g. gzip:1-9,zstd:3,brotli:11 or all")(
        "threads", po::value<std::size_t>()->default_value(0),
        "compression threads (0 = hardware threads)")(
        "timing-floor-ms", po::value<double>()->default_value(measure_options{}.timing_floor_ms),
        "CPU ms each entry's runs are repeated to: compression to half, decompression the rest")(
        "max-input-bytes", po::value<std::size_t>()->default_value(std::size_t{1} << 30),
        "largest file to read")(
        "check-estimate",
        "print the CPU budget's estimate of each compression (cost table, and sampled from the "
        "input as the server does) beside the measured median, and the errors")(
        "calibrate", po::value<std::string>()->value_name("FILE"),
        "measure every codec level on the built-in corpus (minutes) and write the cost table "
        "to FILE (core/codec/costs.csv)");
    po::options_description hidden;
    hidden.add_options()("file", po::value<std::vector<std::string>>());
    po::options_description all;
    all.add(opts).add(hidden);
    po::positional_options_description pos;
    pos.add("file", -1);
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(args).options(all).positional(pos).run(), vm);
    } catch (const std::exception& ex) {
        std::cerr << "compresstest report: " << ex.what() << " (see --help)\n";
        return 2;
    }
    if (vm.count("help")) {
        std::cout << "usage: compresstest report [options] FILE...|-\n"
                     "       compresstest report --calibrate FILE\n\n"
                     "Compresses each file (or standard input for -) with every codec of the\n"
                     "panel, decompresses and verifies it, and prints sizes, % of the original,\n"
                     "median CPU speed and time of compression and decompression, the runs each\n"
                     "was repeated, peak library memory (n/a: no allocator hook), the verified\n"
                     "round trip and the Pareto frontier (C: size vs compression speed, D: vs\n"
                     "decompression speed).\n\n"
                  << opts;
        return 0;
    }
    if (vm.count("calibrate")) return calibrate_to(vm["calibrate"].as<std::string>());
    if (!vm.count("file")) {
        std::cerr << "compresstest report: name a file, or - for standard input (see --help)\n";
        return 2;
    }
    if (vm.count("json") + vm.count("csv") + vm.count("markdown") > 1) {
        std::cerr << "compresstest report: choose one of --json, --csv and --markdown\n";
        return 2;
    }
    const output_format format = vm.count("json")       ? output_format::json
                                 : vm.count("csv")      ? output_format::csv
                                 : vm.count("markdown") ? output_format::markdown
                                                        : output_format::table;
    const measure_options measure{.timing_floor_ms = vm["timing-floor-ms"].as<double>()};
    if (!(measure.timing_floor_ms >= 0)) {
        std::cerr << "compresstest report: --timing-floor-ms must be 0 or more\n";
        return 2;
    }
    auto p = parse_panel(vm["codecs"].as<std::string>());
    if (!p) {
        std::cerr << "compresstest report: --codecs: " << p.err().message << '\n';
        return 2;
    }
    // Read every file first, so a missing one fails before any work is done.
    std::vector<std::pair<std::string, std::string>> inputs;
    for (const auto& name : vm["file"].as<std::vector<std::string>>()) {
        auto data = read_input(name, vm["max-input-bytes"].as<std::size_t>());
        if (!data) {
            std::cerr << "compresstest report: " << data.err().message << '\n';
            return 2;
        }
        inputs.emplace_back(name, std::move(*data));
    }
    thread_pool pool(vm["threads"].as<std::size_t>()
                         ? vm["threads"].as<std::size_t>()
                         : std::max(1u, std::thread::hardware_concurrency()));
    if (format == output_format::csv) std::cout << csv_titles << '\n';
    for (const auto& [name, data] : inputs) {
        auto r = run_report(data, *p, pool.executor(), measure);
        if (!r) {
            std::cerr << "compresstest report: " << name << ": " << r.err().message << '\n';
            return 1;
        }
        if (vm.count("check-estimate"))
            print_estimate_check(std::cout, name, data, *p, *r, measure, pool.executor());
        else
            print_report(std::cout, format, name, *r);
    }
    return 0;
}

} // namespace compresstest
