// compresstest report: the same report as the API, printed as a table or as the API's JSON; and
// --calibrate, which measures every codec level and writes the cost table the build embeds.
#include "faces.hpp"

#include "codec/costs.hpp"
#include "codec/registry.hpp"
#include "report.hpp"
#include "thread_pool.hpp"

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
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

void print_table(std::ostream& out, const std::string& name, const report& r) {
    std::size_t name_width = 5; // "codec"
    for (const codec_descriptor* c : all_codecs())
        name_width = std::max(name_width, c->name.size());
    out << fmt::format("{}: {} bytes ({}), report in {:.1f} ms\n", name, r.original_size,
                       human(r.original_size), r.elapsed_ms);
    out << fmt::format("{:<{}} {:>5} {:>12} {:>9} {:>10}\n", "codec", name_width, "level", "size",
                       "% of orig", "MB/s");
    for (const auto& e : r.results) {
        const double pct = r.original_size ? 100.0 * e.size / r.original_size : 0;
        const double mbps =
            e.compress.median_ms > 0 ? r.original_size / e.compress.median_ms / 1000.0 : 0;
        out << fmt::format("{:<{}} {:>5} {:>12} {:>8.2f}% {:>10.1f}\n", e.codec->name, name_width,
                           e.level, e.size, pct, mbps);
    }
}

// Measures every codec level on the built-in corpus and writes the table to path (through a
// temporary file, so an interrupted run leaves the old table), reporting progress on stderr.
int calibrate_to(const std::string& path) {
    const calibration_options options;
    std::string kinds;
    for (auto kind : corpus_kinds)
        kinds += std::string(kinds.empty() ? "" : ", ") + std::string(kind);
    std::string table = fmt::format(
        "# CPU ns per input byte of each codec level, which the CPU budget multiplies by the "
        "input size.\n"
        "# Written by `compresstest report --calibrate`: single-thread CPU time on the built-in "
        "corpus\n# ({} KiB each of {}); ns_per_byte is their mean. Do not edit by hand.\n"
        "codec,level,ns_per_byte",
        options.sample_nbytes / 1024, kinds);
    for (auto kind : corpus_kinds)
        table += "," + std::string(kind);
    table += "\n";
    calibrate(options, [&](const measured_cost& row, std::span<const double> per_kind) {
        std::string line = fmt::format("{},{},{:.2f}", row.codec, row.level, row.ns_per_byte);
        for (double ns : per_kind)
            line += fmt::format(",{:.2f}", ns);
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
    opts.add_options()("help,h", "print this help")("json", "print the API's JSON instead")(
        "codecs", po::value<std::string>()->default_value(format_panel(default_panel())),
        "panel, e.g. gzip:1-9,zstd:3,brotli:11 or all")(
        "threads", po::value<std::size_t>()->default_value(0),
        "compression threads (0 = hardware threads)")(
        "timing-floor-ms", po::value<double>()->default_value(measure_options{}.timing_floor_ms),
        "CPU time each entry's compression and decompression are repeated to")(
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
                     "panel and prints sizes, % of the original and compression speed.\n\n"
                  << opts;
        return 0;
    }
    if (vm.count("calibrate")) return calibrate_to(vm["calibrate"].as<std::string>());
    if (!vm.count("file")) {
        std::cerr << "compresstest report: name a file, or - for standard input (see --help)\n";
        return 2;
    }
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
        std::ostringstream data;
        if (name == "-") {
            data << std::cin.rdbuf();
        } else {
            std::ifstream f(name, std::ios::binary);
            if (!f) {
                std::cerr << "compresstest report: cannot read " << name << '\n';
                return 2;
            }
            data << f.rdbuf();
        }
        inputs.emplace_back(name, data.str());
    }
    thread_pool pool(vm["threads"].as<std::size_t>()
                         ? vm["threads"].as<std::size_t>()
                         : std::max(1u, std::thread::hardware_concurrency()));
    for (const auto& [name, data] : inputs) {
        auto r = run_report(data, *p, pool.executor(), measure);
        if (!r) {
            std::cerr << "compresstest report: " << name << ": " << r.err().message << '\n';
            return 1;
        }
        if (vm.count("json"))
            std::cout << to_json(*r) << '\n';
        else
            print_table(std::cout, name, *r);
    }
    return 0;
}

} // namespace compresstest
