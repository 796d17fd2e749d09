// The report: plan the distinct compressions, fan them out, measure and verify each, assemble.
#include "report.hpp"

#include "codec/costs.hpp"
#include "codec/registry.hpp"
#include "cpu_time.hpp"
#include "text.hpp"
#include "wire.hpp"

#include <fmt/format.h>

#include <malloc.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <deque>
#include <future>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>

namespace compresstest {
namespace {

using clock_type = std::chrono::steady_clock;

double ms_since(clock_type::time_point t0) {
    return std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
}

std::optional<int> parse_int(std::string_view s) {
    int v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || end != s.data() + s.size() || s.empty()) return std::nullopt;
    return v;
}

// Keeps user-supplied text in error messages short.
std::string quoted(std::string_view s) {
    constexpr std::size_t max_echo_nbytes = 40;
    return "\"" + std::string(s.substr(0, max_echo_nbytes)) +
           (s.size() > max_echo_nbytes ? "…\"" : "\"");
}

// What one piece's task measured.
struct piece_result {
    std::uint64_t value = 0; // bits (split codecs) or bytes
    timing compress;
    timing decompress;
    std::size_t compress_peak_nbytes = 0;
    std::size_t decompress_peak_nbytes = 0;
};

std::size_t most_of(const std::vector<piece_result>& pieces, std::size_t piece_result::*peak) {
    std::size_t most = 0;
    for (const auto& p : pieces)
        most = std::max(most, p.*peak);
    return most;
}

// A split codec's pieces are what its whole stream is made of: their times add up.
timing sum_of(const std::vector<piece_result>& pieces, timing piece_result::*op) {
    timing total;
    total.runs = pieces.empty() ? 0 : std::numeric_limits<int>::max();
    for (const auto& p : pieces) {
        total.median_ms += (p.*op).median_ms;
        total.min_ms += (p.*op).min_ms;
        total.runs = std::min(total.runs, (p.*op).runs);
    }
    return total;
}

// Whether a is no larger and no slower than b, and strictly one of them.
bool dominates(const entry_result& a, const entry_result& b, timing entry_result::*op) {
    const double a_ms = (a.*op).median_ms, b_ms = (b.*op).median_ms;
    return a.size <= b.size && a_ms <= b_ms && (a.size < b.size || a_ms < b_ms);
}

bool on_frontier(const std::vector<entry_result>& all, const entry_result& e,
                 timing entry_result::*op) {
    return std::none_of(all.begin(), all.end(),
                        [&](const entry_result& other) { return dominates(other, e, op); });
}

// One distinct compression (base codec at a level) and its pieces' measurements.
struct compression {
    const codec_descriptor* base;
    int level;
    std::vector<std::string_view> pieces; // one piece unless the codec splits
    std::vector<piece_result> piece_results;
    // Shared by the piece tasks (held apart, as atomics do not move with the plan's vector).
    struct progress_counters {
        std::atomic<std::size_t> pieces_left{0}; // the task taking it to zero reports the entries
        std::atomic<bool> failed{false};
    };
    std::unique_ptr<progress_counters> progress = std::make_unique<progress_counters>();
    std::size_t size() const {
        std::uint64_t total = 0;
        for (const auto& r : piece_results)
            total += r.value;
        return base->split ? base->assemble_nbytes(total, level) : static_cast<std::size_t>(total);
    }
};

// Times one operation until its runs reach floor_ms (see measure_options): first() runs it
// once, metered; each batch() then runs it unmetered until done(). Runs shorter than batch_ms
// are timed in batches that long, so the clock's own cost (a system call) stays out of the
// figures.
class repeated_timer {
public:
    repeated_timer(double floor_ms, double batch_ms, int max_runs)
        : floor_ms_(floor_ms), batch_ms_(batch_ms), max_runs_(max_runs) {}

    // What another operation of the same entry measured counts toward this one's floor.
    void count_toward_floor(double ms) { floor_ms_ = std::max(0.0, floor_ms_ - ms); }
    double total_ms() const { return total_ms_; }

    template <class F> void first(const F& op, memory_meter& meter) {
        const double t0 = thread_cpu_ms();
        op(&meter);
        const double ms = thread_cpu_ms() - t0;
        per_run_ms_ = {ms};
        total_ms_ = ms;
        runs_ = 1;
        batch_runs_ = ms >= batch_ms_ ? 1
                                      : static_cast<int>(std::min<double>(
                                            std::ceil(batch_ms_ / std::max(ms, 1e-6)), max_runs_));
    }
    bool done() const { return runs_ > 0 && (total_ms_ >= floor_ms_ || runs_ >= max_runs_); }
    template <class F> void batch(const F& op) {
        const int k = std::min(batch_runs_, max_runs_ - runs_);
        const double t0 = thread_cpu_ms();
        for (int i = 0; i < k; ++i)
            op(nullptr);
        const double ms = thread_cpu_ms() - t0;
        per_run_ms_.push_back(ms / k);
        total_ms_ += ms;
        runs_ += k;
    }
    timing result() {
        std::sort(per_run_ms_.begin(), per_run_ms_.end());
        const std::size_t n = per_run_ms_.size();
        return {.median_ms = (per_run_ms_[(n - 1) / 2] + per_run_ms_[n / 2]) / 2,
                .min_ms = per_run_ms_.front(),
                .runs = runs_};
    }

private:
    double floor_ms_, batch_ms_;
    int max_runs_;
    std::vector<double> per_run_ms_;
    double total_ms_ = 0;
    int runs_ = 0;
    int batch_runs_ = 1;
};

// The compressions a panel needs: each distinct (base codec, level) once.
std::vector<compression> plan(const panel& p) {
    std::vector<compression> out;
    auto need = [&](const codec_descriptor& base, int level) {
        for (auto& c : out)
            if (c.base == &base && c.level == level) return;
        out.push_back({&base, level, {}, {}, std::make_unique<compression::progress_counters>()});
    };
    for (const auto& e : p)
        need(base_of(*e.codec), e.level);
    return out;
}

struct work_queue;

struct report_state {
    std::string_view in;
    panel entries;
    std::vector<compression> compressions;
    std::atomic<std::size_t> remaining{0};
    std::mutex error_mutex;
    std::optional<error> first_error;
    report_callback done;
    entry_callback on_entry;
    cancel_check cancelled;
    executor ex;
    std::unique_ptr<work_queue> work; // the measuring tasks' items

    measure_options options;
    clock_type::time_point t0 = clock_type::now();

    const compression& find(const codec_descriptor& c, int level) const {
        const codec_descriptor& base = base_of(c);
        for (const auto& comp : compressions)
            if (comp.base == &base && comp.level == level) return comp;
        throw std::logic_error("report: compression missing from plan");
    }

    void fail(error e) {
        std::lock_guard lock(error_mutex);
        if (!first_error) first_error = std::move(e);
    }

    // The figures of entry e, whose compression comp has finished, Pareto flags still false.
    entry_result result_of(const panel_entry& e, const compression& comp) const {
        auto peak = [&](bool metered, std::size_t piece_result::*of) {
            return metered ? std::optional(most_of(comp.piece_results, of)) : std::nullopt;
        };
        return {e.codec,
                e.level,
                comp.size() + e.codec->derived_overhead_nbytes,
                sum_of(comp.piece_results, &piece_result::compress),
                sum_of(comp.piece_results, &piece_result::decompress),
                true,
                peak(comp.base->compress_metered, &piece_result::compress_peak_nbytes),
                peak(comp.base->decompress_metered, &piece_result::decompress_peak_nbytes),
                false,
                false};
    }

    // Called by the task that finished comp's last piece: its entries are known.
    void on_compression_done(const compression& comp) {
        if (!on_entry || comp.progress->failed.load(std::memory_order_acquire)) return;
        for (const auto& e : entries)
            if (&base_of(*e.codec) == comp.base && e.level == comp.level)
                on_entry(result_of(e, comp));
    }

    void finish() {
        if (first_error) return done(*first_error);
        report r;
        r.original_size = in.size();
        for (const auto& e : entries)
            r.results.push_back(result_of(e, find(*e.codec, e.level)));
        for (auto& e : r.results) {
            e.pareto_compress = on_frontier(r.results, e, &entry_result::compress);
            e.pareto_decompress = on_frontier(r.results, e, &entry_result::decompress);
        }
        r.elapsed_ms = ms_since(t0);
        done(std::move(r));
    }
};

// Measures one piece: compresses it, decompresses the output and checks it is the piece
// again. step() does the next part (a run or a batch of runs) until done(); done in one go by
// run(), or a step at a time, interleaved with other pieces' steps.
class piece_measurement {
public:
    piece_measurement(const compression& comp, std::string_view piece,
                      const measure_options& options, piece_result& out)
        : c_(*comp.base), level_(comp.level), piece_(piece), out_(out),
          compress_(floor_share(options, comp) / 2, floor_share(options, comp) / 40,
                    options.max_runs),
          decompress_(floor_share(options, comp), floor_share(options, comp) / 40,
                      options.max_runs) {}

    bool done() const { return stage_ == stage::done; }
    void step() {
        switch (stage_) {
        case stage::compress_first: {
            memory_meter meter;
            compress_.first([&](memory_meter* m) { compress_once(m); }, meter);
            out_.compress_peak_nbytes = meter.peak_nbytes();
            out_.value = c_.split ? c_.piece_nbits(stream_, level_) : stream_.size();
            stage_ = stage::compress_batches;
            break;
        }
        case stage::compress_batches:
            batch_or_finish(
                compress_, [&](memory_meter* m) { compress_once(m); }, out_.compress,
                stage::decompress_first);
            break;
        case stage::decompress_first: {
            decompress_.count_toward_floor(compress_.total_ms());
            memory_meter meter;
            decompress_.first([&](memory_meter* m) { decompress_once(m); }, meter);
            out_.decompress_peak_nbytes = meter.peak_nbytes();
            if (back_ != piece_)
                throw std::runtime_error("its output does not decompress to the input");
            stage_ = stage::decompress_batches;
            break;
        }
        case stage::decompress_batches:
            batch_or_finish(
                decompress_, [&](memory_meter* m) { decompress_once(m); }, out_.decompress,
                stage::done);
            break;
        case stage::done:
            break;
        }
    }
    // Whether the compression is measured (what is left is decompression).
    bool compressed() const { return stage_ >= stage::decompress_first; }
    void run_compression() {
        while (!compressed())
            step();
    }
    void run() {
        while (!done())
            step();
    }

private:
    // The floor this piece's entry gives it: all of it, or a split codec's piece its share, so
    // that the entry has the floor's measured time however many pieces it has. Compression runs
    // to half of it, decompression until the two together have all of it (as repeated_ms
    // charges them).
    static double floor_share(const measure_options& options, const compression& comp) {
        return options.timing_floor_ms /
               static_cast<double>(std::max<std::size_t>(comp.pieces.size(), 1));
    }
    enum class stage {
        compress_first,
        compress_batches,
        decompress_first,
        decompress_batches,
        done
    };
    // One more batch of t's runs; once t is done, its figures into out and on to next.
    template <class F>
    void batch_or_finish(repeated_timer& t, const F& op, timing& out, stage next) {
        if (!t.done()) return t.batch(op);
        out = t.result();
        stage_ = next;
    }
    // Each run writes over the last run's output, in its memory (as lzbench and zstd -b do).
    void compress_once(memory_meter* m) { compress_into(c_, piece_, level_, stream_, m); }
    void decompress_once(memory_meter* m) { c_.decompress(stream_, piece_.size(), back_, m); }

    const codec_descriptor& c_;
    int level_;
    std::string_view piece_;
    piece_result& out_;
    repeated_timer compress_, decompress_;
    std::string stream_, back_;
    stage stage_ = stage::compress_first;
};

// Thrown instead of measuring once the report is cancelled.
struct cancelled_error : std::runtime_error {
    cancelled_error() : std::runtime_error("the report was cancelled") {}
};

void check_cancelled(const report_state& st) {
    if (st.cancelled && st.cancelled()) throw cancelled_error();
}

// Records that piece i of comp failed with what.
void piece_failed(const std::shared_ptr<report_state>& st, compression& comp,
                  const std::exception& what) {
    comp.progress->failed.store(true, std::memory_order_release);
    // Nobody is left to read it, and it is not a failure of ours: not an internal error.
    if (dynamic_cast<const cancelled_error*>(&what))
        return st->fail({error_kind::timeout, what.what()});
    st->fail({error_kind::internal, std::string(comp.base->name) + ":" +
                                        std::to_string(comp.level) + " failed: " + what.what()});
}

// After a piece of comp is measured (or failed): the entries once comp is whole, the report
// once everything is.
void piece_finished(const std::shared_ptr<report_state>& st, compression& comp) {
    if (comp.progress->pieces_left.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        try {
            st->on_compression_done(comp);
        } catch (const std::exception& ex) {
            st->fail(
                {error_kind::internal, std::string("reporting an entry failed: ") + ex.what()});
        }
    }
    if (st->remaining.fetch_sub(1, std::memory_order_acq_rel) == 1) st->finish();
}

// The report's work, which its executor tasks take one item each of: every piece's
// compression, costliest first (that keeps the makespan near total / threads), and each
// piece's decompression once its compression is measured. A decompression that is ready goes
// first, so that an entry is done soon after its compression (its line streams then); the
// last items are decompressions, a few milliseconds each, so the threads finish together.
struct work_queue {
    struct item {
        compression* comp;
        std::shared_ptr<piece_measurement> m;
    };
    std::mutex mutex;
    std::deque<item> compressions;   // costliest first; m made when taken
    std::deque<item> decompressions; // ready ones
};

void run_next(const std::shared_ptr<report_state>& st);

void run_item(const std::shared_ptr<report_state>& st, work_queue::item it, bool decompression) {
    compression& comp = *it.comp;
    try {
        check_cancelled(*st);
        if (decompression) {
            it.m->run();
        } else {
            it.m->run_compression();
            {
                std::lock_guard lock(st->work->mutex);
                st->work->decompressions.push_back(it);
            }
            return st->ex([st] { run_next(st); });
        }
    } catch (const std::exception& ex) {
        piece_failed(st, comp, ex);
    }
    piece_finished(st, comp);
}

// One executor task: the next item of the report's work.
void run_next(const std::shared_ptr<report_state>& st) {
    work_queue::item it;
    bool decompression = false;
    {
        std::lock_guard lock(st->work->mutex);
        if (!st->work->decompressions.empty()) {
            it = st->work->decompressions.front();
            st->work->decompressions.pop_front();
            decompression = true;
        } else {
            it = st->work->compressions.front();
            st->work->compressions.pop_front();
        }
    }
    run_item(st, std::move(it), decompression);
}

// Measures every piece on this thread, a step of each in turn, so that each one's runs are
// spread over the whole report's time rather than packed into its own stretch: the machine's
// speed drifts (other tenants of the host, clock changes) over tens of milliseconds, and two
// identical reports would otherwise disagree by half on small inputs.
void run_interleaved(const std::shared_ptr<report_state>& st,
                     const std::vector<std::pair<compression*, std::size_t>>& pieces) {
    std::vector<std::unique_ptr<piece_measurement>> measurements;
    for (const auto& [comp, i] : pieces)
        measurements.push_back(std::make_unique<piece_measurement>(
            *comp, comp->pieces[i], st->options, comp->piece_results[i]));
    for (std::size_t left = pieces.size(); left > 0;)
        for (std::size_t k = 0; k < pieces.size(); ++k) {
            if (!measurements[k]) continue;
            compression& comp = *pieces[k].first;
            try {
                check_cancelled(*st);
                measurements[k]->step();
                if (!measurements[k]->done()) continue;
            } catch (const std::exception& ex) {
                piece_failed(st, comp, ex);
            }
            measurements[k].reset();
            --left;
            piece_finished(st, comp);
        }
}

// Runs on the executor: splitting is codec work, so it stays off the caller's thread.
void plan_and_fan_out(const std::shared_ptr<report_state>& st, const executor& ex) {
    struct task {
        compression* comp;
        std::size_t piece;
        double cost;
    };
    std::vector<task> tasks;
    for (auto& comp : st->compressions) {
        if (comp.base->split) comp.pieces = comp.base->split(st->in, comp.level);
        // An empty input splits into no pieces; it still gets one, to be measured and verified.
        if (comp.pieces.empty()) comp.pieces = {st->in};
        comp.piece_results.assign(comp.pieces.size(), {});
        comp.progress->pieces_left.store(comp.pieces.size(), std::memory_order_relaxed);
        for (std::size_t i = 0; i < comp.pieces.size(); ++i)
            tasks.push_back({&comp, i,
                             static_cast<double>(comp.pieces[i].size()) *
                                 cost_ns_per_byte(*comp.base, comp.level)});
    }
    // Longest first keeps the makespan near total / workers.
    std::stable_sort(tasks.begin(), tasks.end(),
                     [](const task& a, const task& b) { return a.cost > b.cost; });
    // +1 guards against finishing before every task is posted.
    st->remaining.store(tasks.size() + 1, std::memory_order_release);
    // When the repeats to the floor are nearly all of the work (a small input), the pieces'
    // runs are interleaved on one thread (run_interleaved).
    double one_run_each_ms = 0;
    for (const auto& t : tasks)
        one_run_each_ms += (t.cost + static_cast<double>(t.comp->pieces[t.piece].size()) *
                                         decompress_ns_per_byte(*t.comp->base, t.comp->level)) /
                           1e6;
    if (tasks.size() > 1 && one_run_each_ms <= st->options.timing_floor_ms) {
        std::vector<std::pair<compression*, std::size_t>> pieces;
        for (const auto& t : tasks)
            pieces.emplace_back(t.comp, t.piece);
        const auto& on = st->options.interleaved_executor ? st->options.interleaved_executor : ex;
        on([st, pieces = std::move(pieces)] { run_interleaved(st, pieces); });
    } else {
        st->work = std::make_unique<work_queue>();
        for (const auto& t : tasks)
            st->work->compressions.push_back(
                {t.comp,
                 std::make_shared<piece_measurement>(*t.comp, t.comp->pieces[t.piece], st->options,
                                                     t.comp->piece_results[t.piece])});
        for (std::size_t k = 0; k < tasks.size(); ++k)
            ex([st] { run_next(st); });
    }
    if (st->remaining.fetch_sub(1, std::memory_order_acq_rel) == 1) st->finish();
}

} // namespace

void keep_freed_memory_for_repeated_runs() {
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
    mallopt(M_TOP_PAD, 16 << 20);
}

result<panel> parse_panel(std::string_view spec, std::size_t max_spec_nbytes) {
    if (spec.size() > max_spec_nbytes)
        return error{error_kind::unprocessable, "codecs is " + std::to_string(spec.size()) +
                                                    " bytes; the limit is " +
                                                    std::to_string(max_spec_nbytes)};
    panel p;
    auto add = [&](const codec_descriptor* c, int level) {
        if (std::find(p.begin(), p.end(), panel_entry{c, level}) == p.end())
            p.push_back({c, level});
    };
    if (spec == "all") {
        for (const codec_descriptor* c : all_codecs())
            for (int level = c->min_level; level <= c->max_level; ++level)
                add(c, level);
        return p;
    }
    std::size_t pos = 0;
    while (pos <= spec.size()) {
        std::size_t comma = spec.find(',', pos);
        if (comma == std::string_view::npos) comma = spec.size();
        std::string_view item = spec.substr(pos, comma - pos);
        pos = comma + 1;
        while (!item.empty() && item.front() == ' ')
            item.remove_prefix(1);
        while (!item.empty() && item.back() == ' ')
            item.remove_suffix(1);
        if (item.empty()) {
            if (comma == spec.size() && !p.empty()) break; // tolerate a trailing comma
            return error{error_kind::unprocessable,
                         "codecs has an empty entry; write e.g. gzip:1-9,zstd:3"};
        }
        const std::size_t colon = item.find(':');
        auto codec = find_codec(item.substr(0, colon));
        if (!codec) return codec.err();
        const codec_descriptor& c = **codec;
        if (colon == std::string_view::npos) {
            add(&c, c.default_level);
            continue;
        }
        const std::string_view levels = item.substr(colon + 1);
        const std::size_t dash = levels.find('-');
        const auto lo = parse_int(levels.substr(0, dash));
        const auto hi = dash == std::string_view::npos ? lo : parse_int(levels.substr(dash + 1));
        if (!lo || !hi || *lo > *hi)
            return error{error_kind::unprocessable,
                         "bad level " + quoted(levels) + " for " + std::string(c.name) +
                             ": write a level or a range like " + std::to_string(c.min_level) +
                             "-" + std::to_string(c.max_level)};
        for (int level : {*lo, *hi})
            if (auto ok = check_level(c, level); !ok) return ok.err();
        for (int level = *lo; level <= *hi; ++level)
            add(&c, level);
    }
    if (p.empty())
        return error{error_kind::unprocessable, "codecs is empty; write e.g. gzip:1-9,zstd:3"};
    return p;
}

const panel& default_panel() {
    static const panel p = [] {
        constexpr std::string_view spec =
            "gzip:6,gzip:9,deflate:9,zlib:9,bzip2:9,zstd:3,brotli:5,lz4:1";
        auto parsed = parse_panel(spec);
        if (!parsed) throw std::logic_error("the default panel: " + parsed.err().message);
        return *parsed;
    }();
    return p;
}

std::string format_panel(const panel& p) {
    std::string s;
    for (const auto& e : p) {
        if (!s.empty()) s += ',';
        s += std::string(e.codec->name) + ":" + std::to_string(e.level);
    }
    return s;
}

panel with_original_entries(panel p) {
    for (const auto& k : original_keys) {
        const panel_entry e{&codec_named(k.codec), k.level};
        if (std::find(p.begin(), p.end(), e) == p.end()) p.push_back(e);
    }
    return p;
}

namespace {

// run_ms repeated in whole runs until they reach floor_ms (once if one run does), at most
// max_runs times.
double repeated_to(double run_ms, double floor_ms, int max_runs) {
    if (!(run_ms > 0)) return 0;
    return run_ms * std::clamp(std::ceil(floor_ms / run_ms), 1.0, static_cast<double>(max_runs));
}

// What the report spends on an entry whose runs take compress_run_ms and decompress_run_ms
// (see measure_options).
double repeated_ms(double compress_run_ms, double decompress_run_ms,
                   const measure_options& options) {
    const double c = repeated_to(compress_run_ms, options.timing_floor_ms / 2, options.max_runs);
    return c + repeated_to(decompress_run_ms, std::max(0.0, options.timing_floor_ms - c),
                           options.max_runs);
}

// What the estimate compresses to learn how this input behaves: slices spread evenly from its
// start to its end (spread_sample).
struct input_samples {
    std::string spread;
    std::string blocks;
    input_samples(std::string_view in, const estimate_options& e)
        : spread(spread_sample(in, e.sample_nbytes, e.sample_slices)),
          blocks(spread_sample(in, block_sample_nbytes, block_sample_slices)) {}
};

} // namespace

namespace {

// The sampling budget of one estimate, shared by its compressions (which may run at once).
class sampling_budget {
public:
    explicit sampling_budget(double ms) : left_ms_(ms) {}
    double left_ms() {
        std::lock_guard lock(mutex_);
        return left_ms_;
    }
    void spend(double ms) {
        std::lock_guard lock(mutex_);
        left_ms_ -= ms;
    }

private:
    std::mutex mutex_;
    double left_ms_;
};

// The estimate of one compression on an input of n bytes, sampled when affordable.
// Per-byte costs vary with the input several-fold (deflate:9 on prose and on machine code) and
// the table's figure is a mean over its corpus, so where it is affordable the estimate
// measures this input: one slice, then as many of the sample's slices as max_entry_ms allows
// (at least min_slices, spread over it, or the table's figure stands), and takes the difference per
// byte, which leaves out what a call costs whatever its size (context set-up, hash tables). The
// table's figure bounds the first run; the first run's time the second. A codec that cuts its
// input into blocks (bzip2's 900 kB) is sampled alike: its cost per byte barely depends on the
// block's size but on runs that repeat within it, which short slices cut: such a codec gets
// fewer, longer slices (bzip2:9 on 4 × 32 KiB of text or machine code is within 10 % of its
// cost on whole blocks, on 16 × 16 KiB 20-30 % under it, and the table's mean, which counts
// incompressible bytes, 1.5 times it on text).
compression_estimate estimate_one(const codec_descriptor& base, int level, std::size_t n,
                                  const input_samples* samples, const estimate_options& e,
                                  sampling_budget& budget) {
    const std::string_view sample = !samples     ? std::string_view()
                                    : base.split ? samples->blocks
                                                 : samples->spread;
    const std::size_t slices = base.split ? block_sample_slices : e.sample_slices;
    const std::size_t min_slices = std::min<std::size_t>(4, slices);
    const double max_entry_ms = e.max_entry_sampling_ms;
    compression_estimate est{&base, level, cost_ns_per_byte(base, level),
                             decompress_ns_per_byte(base, level), false};
    // CPU ms of compressing and of decompressing bytes once.
    auto run = [&](std::string_view bytes) {
        const double t0 = thread_cpu_ms();
        const std::string packed = compress_to_string(base, bytes, level);
        const double t1 = thread_cpu_ms();
        decompress_to_string(base, packed, bytes.size());
        return std::pair{t1 - t0, thread_cpu_ms() - t1};
    };
    // A run the table puts well under the timing floor is charged the floor's repeats whatever
    // it costs within a factor of 3 (repeated_ms): not worth the sampling.
    const double table_run_ms = static_cast<double>(n) * est.compress_ns_per_byte / 1e6;
    const double table_decompress_run_ms =
        static_cast<double>(n) * est.decompress_ns_per_byte / 1e6;
    const bool floor_bound =
        3 * std::max(table_run_ms, table_decompress_run_ms) <= e.timing_floor_ms;
    const std::size_t slice_nbytes = floor_bound ? 0 : sample.size() / slices;
    const std::string_view first_slice = sample.substr(0, slice_nbytes);
    const double first_by_table_ms = static_cast<double>(first_slice.size()) *
                                     (est.compress_ns_per_byte + est.decompress_ns_per_byte) / 1e6;
    if (slice_nbytes > 0 && first_by_table_ms <= std::min(max_entry_ms, budget.left_ms())) {
        const auto [c1, d1] = run(first_slice);
        budget.spend(c1 + d1);
        const double per_slice_ms = std::max(c1 + d1, 1e-3);
        // The budget may be spent already, past zero (runs on other threads spend it too).
        const auto affordable = static_cast<std::size_t>(
            std::max(0.0, std::min(max_entry_ms, budget.left_ms())) / per_slice_ms);
        const std::size_t k = std::min(slices, affordable);
        if (k >= min_slices) {
            // k of the slices, spread over the sample as the sample is over the input.
            std::string part;
            for (std::size_t i = 0; i < k; ++i)
                part += sample.substr(i * slices / k * slice_nbytes, slice_nbytes);
            const auto [c2, d2] = run(part);
            budget.spend(c2 + d2);
            const double extra_nbytes = static_cast<double>(part.size() - first_slice.size());
            const double nbytes = static_cast<double>(part.size());
            // A negative difference is noise, and a codec that cuts its input into blocks pays
            // its set-up per block in the report too: the part's mean per byte instead.
            auto per_byte = [&](double ms1, double ms2) {
                return !base.split && ms2 > ms1 ? (ms2 - ms1) * 1e6 / extra_nbytes
                                                : ms2 * 1e6 / nbytes;
            };
            const double factor = base.split ? block_sample_factor(base, level) : 1.0;
            est.compress_ns_per_byte = factor * per_byte(c1, c2);
            est.decompress_ns_per_byte = factor * per_byte(d1, d2);
            est.sampled = true;
        }
    }
    est.compress_run_ms = static_cast<double>(n) * est.compress_ns_per_byte / 1e6;
    est.decompress_run_ms = static_cast<double>(n) * est.decompress_ns_per_byte / 1e6;
    return est;
}

bool worth_sampling(const panel& p, std::size_t n, const estimate_options& e) {
    return n > e.min_input_nbytes &&
           (e.sample_above_ms <= 0 ||
            estimate_cpu_ms(p, n, {.timing_floor_ms = e.timing_floor_ms}) > e.sample_above_ms);
}

// The indexes of comps, costliest by the table first: they get the sampling budget, the
// table's errors costing most on them.
std::vector<std::size_t> costliest_first(const std::vector<compression>& comps) {
    std::vector<std::size_t> order(comps.size());
    std::vector<double> cost;
    for (std::size_t i = 0; i < comps.size(); ++i) {
        order[i] = i;
        cost.push_back(cost_ns_per_byte(*comps[i].base, comps[i].level) +
                       decompress_ns_per_byte(*comps[i].base, comps[i].level));
    }
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return cost[a] > cost[b]; });
    return order;
}

} // namespace

std::vector<compression_estimate> estimate_compressions(const panel& p, std::string_view in,
                                                        const estimate_options& e) {
    std::optional<input_samples> samples;
    if (worth_sampling(p, in.size(), e)) samples.emplace(in, e);
    sampling_budget budget(e.max_sampling_ms);
    const std::vector<compression> comps = plan(p);
    std::vector<compression_estimate> out(comps.size(), {nullptr, 0, 0, 0, false});
    for (std::size_t i : costliest_first(comps))
        out[i] = estimate_one(*comps[i].base, comps[i].level, in.size(),
                              samples ? &*samples : nullptr, e, budget);
    return out;
}

void estimate_compressions_async(const panel& p, std::string_view in, const executor& ex,
                                 estimate_callback done, const estimate_options& e) {
    struct state {
        std::optional<input_samples> samples;
        std::vector<compression_estimate> out;
        std::atomic<std::size_t> left{0};
        sampling_budget budget;
        estimate_callback done;
        explicit state(double ms) : budget(ms) {}
    };
    auto st = std::make_shared<state>(e.max_sampling_ms);
    st->done = std::move(done);
    std::vector<compression> comps = plan(p);
    // Small inputs, and reports the table puts far from the limit, are not sampled: the
    // table's figures at once, on the calling thread.
    if (!worth_sampling(p, in.size(), e) || comps.empty()) {
        for (const auto& comp : comps)
            st->out.push_back(
                estimate_one(*comp.base, comp.level, in.size(), nullptr, e, st->budget));
        return st->done(std::move(st->out));
    }
    st->samples.emplace(in, e);
    st->out.resize(comps.size(), compression_estimate{nullptr, 0, 0, 0, false});
    st->left = comps.size();
    for (std::size_t i : costliest_first(comps))
        ex([st, i, base = comps[i].base, level = comps[i].level, n = in.size(), e] {
            try {
                st->out[i] = estimate_one(*base, level, n, &*st->samples, e, st->budget);
            } catch (const std::exception&) { // a library out of memory: the table's figure
                st->out[i] = estimate_one(*base, level, n, nullptr, e, st->budget);
            }
            if (--st->left == 0) st->done(std::move(st->out));
        });
}

double estimate_cpu_ms(std::span<const compression_estimate> estimates,
                       const measure_options& options) {
    double ms = 0;
    for (const auto& est : estimates)
        ms += repeated_ms(est.compress_run_ms, est.decompress_run_ms, options);
    return ms;
}

double estimate_cpu_ms(const panel& p, std::size_t in_nbytes, const measure_options& options) {
    const double n = static_cast<double>(in_nbytes);
    double ms = 0;
    for (const auto& comp : plan(p))
        ms += repeated_ms(n * cost_ns_per_byte(*comp.base, comp.level) / 1e6,
                          n * decompress_ns_per_byte(*comp.base, comp.level) / 1e6, options);
    return ms;
}

std::optional<std::size_t> size_of(const report& r, std::string_view codec, int level) {
    for (const auto& e : r.results)
        if (e.codec->name == codec && e.level == level) return e.size;
    return std::nullopt;
}

void run_report_async(std::string_view in, const panel& p, const executor& ex, report_callback done,
                      const measure_options& options, entry_callback on_entry,
                      cancel_check cancelled) {
    auto st = std::make_shared<report_state>();
    st->in = in;
    st->entries = p;
    st->compressions = plan(p);
    st->done = std::move(done);
    st->options = options;
    st->on_entry = std::move(on_entry);
    st->cancelled = std::move(cancelled);
    st->ex = ex;
    ex([st] { plan_and_fan_out(st, st->ex); });
}

result<report> run_report(std::string_view in, const panel& p, const executor& ex,
                          const measure_options& options) {
    std::promise<result<report>> promise;
    auto future = promise.get_future();
    run_report_async(
        in, p, ex, [&promise](result<report> r) { promise.set_value(std::move(r)); }, options);
    return future.get();
}

// A speed may be a hundredth of a MB/s, and exponent notation (1.2E-3) is what people reading
// the API should not have to parse.
std::string significant(double v, int min_decimals) {
    const int magnitude = v > 0 ? static_cast<int>(std::floor(std::log10(v))) : 0;
    return fmt::format("{:.{}f}", v, std::clamp(3 - magnitude, min_decimals, 9));
}

std::string to_json(const entry_result& e, std::size_t original_nbytes) {
    // Written by hand: Boost.JSON prints doubles in exponent form (1.232E-1), which the
    // original client parses but people reading the API should not have to.
    const double original = static_cast<double>(original_nbytes);
    auto mb_s = [&](const timing& t) {
        return t.median_ms > 0 && original > 0 ? significant(original / t.median_ms / 1e3, 1)
                                               : std::string("null");
    };
    auto or_null = [](const std::optional<std::size_t>& n) {
        return n ? std::to_string(*n) : std::string("null");
    };
    // Codec names come from the registry: plain identifiers, nothing to escape. Times keep
    // three decimals: a run on a small input takes microseconds.
    return fmt::format(
        R"({{"codec":"{}","level":{},"size":{},"ratio":{},"compress_ms":{},)"
        R"("decompress_ms":{},"compress_min_ms":{},"decompress_min_ms":{},)"
        R"("runs":{},"decompress_runs":{},"compress_mb_s":{},"decompress_mb_s":{},)"
        R"("verified":{},"compress_peak_bytes":{},"decompress_peak_bytes":{},)"
        R"("pareto":{{"compress":{},"decompress":{}}}{}}})",
        e.codec->name, e.level, e.size,
        original > 0 ? fmt::format("{:.4f}", static_cast<double>(e.size) / original) : "null",
        significant(e.compress.median_ms, 3), significant(e.decompress.median_ms, 3),
        significant(e.compress.min_ms, 3), significant(e.decompress.min_ms, 3), e.compress.runs,
        e.decompress.runs, mb_s(e.compress), mb_s(e.decompress), e.verified,
        or_null(e.compress_peak_nbytes), or_null(e.decompress_peak_nbytes), e.pareto_compress,
        e.pareto_decompress,
        e.codec->content_coding.empty()
            ? std::string()
            : ",\"wire\":" + wire::to_json(wire::figures_of(wire::report_content_type,
                                                            e.codec->content_coding, e.size)));
}

std::string wire_json(const report& r, std::optional<std::string_view> accept_encoding) {
    // The unencoded body first: among equals, the choice keeps the earliest.
    std::vector<wire::candidate> candidates{
        {"identity", wire::response_nbytes(wire::report_content_type, "", r.original_size)}};
    std::vector<const entry_result*> entries{nullptr};
    for (const auto& e : r.results)
        if (!e.codec->content_coding.empty()) {
            candidates.push_back(
                {e.codec->content_coding, wire::response_nbytes(wire::report_content_type,
                                                                e.codec->content_coding, e.size)});
            entries.push_back(&e);
        }
    std::string chosen = "null";
    if (const auto i = wire::choose(accept_encoding, candidates)) {
        const auto* e = entries[*i];
        const auto f =
            wire::figures_of(wire::report_content_type, e ? e->codec->content_coding : "identity",
                             e ? e->size : r.original_size);
        chosen = fmt::format(R"({{"codec":{},"level":{},{})",
                             e ? "\"" + std::string(e->codec->name) + "\"" : "null",
                             e ? std::to_string(e->level) : "null", wire::to_json(f).substr(1));
    }
    // The header is the client's: escaped as any JSON string.
    return fmt::format(
        R"({{"accept_encoding":{},"identity":{},"chosen":{}}})",
        accept_encoding ? text::json_string(*accept_encoding) : "null",
        wire::to_json(wire::figures_of(wire::report_content_type, "identity", r.original_size)),
        chosen);
}

std::string to_json(const report& r, std::optional<std::string_view> accept_encoding) {
    std::string out = fmt::format(R"({{"original_size":{},)", r.original_size);
    for (const auto& k : original_keys)
        if (auto n = size_of(r, k.codec, k.level))
            fmt::format_to(std::back_inserter(out), R"("{}":{},)", k.key, *n);
    out += R"("results":[)";
    for (std::size_t i = 0; i < r.results.size(); ++i)
        out += (i ? "," : "") + to_json(r.results[i], r.original_size);
    fmt::format_to(std::back_inserter(out), R"(],"elapsed_ms":{:.1f},"wire":{}}})", r.elapsed_ms,
                   wire_json(r, accept_encoding));
    return out;
}

} // namespace compresstest
