// The application's shared state: config, compute pool, admission and metrics.
#include "app.hpp"

#include "codec/registry.hpp"
#include "report.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

namespace compresstest {
namespace {

constexpr int low_nice = 10;

std::string build_codecs_json(const config& c) {
    boost::json::array codecs;
    for (const codec_descriptor* d : all_codecs())
        codecs.push_back({{"name", d->name},
                          {"content_coding", d->content_coding},
                          {"library", d->library},
                          {"min_level", d->min_level},
                          {"default_level", d->default_level},
                          {"max_level", d->max_level}});
    boost::json::array panel;
    for (const auto& e : default_panel())
        panel.push_back({{"codec", e.codec->name}, {"level", e.level}});
    return boost::json::serialize(boost::json::object{
               {"codecs", std::move(codecs)},
               {"default_panel", std::move(panel)},
               {"max_input_nbytes", c.max_input_nbytes},
               {"max_panel_cpu_ms", static_cast<std::int64_t>(c.max_panel_cpu_ms)}}) +
           "\n";
}

// The CPUs this process may run on (a container's cpuset, taskset), in ascending order.
std::vector<int> allowed_cpus() {
    cpu_set_t set;
    CPU_ZERO(&set);
    std::vector<int> cpus;
    if (::sched_getaffinity(0, sizeof set, &set) != 0) return cpus;
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
        if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
    return cpus;
}

} // namespace

void name_this_thread(const std::string& name) {
    ::pthread_setname_np(::pthread_self(), name.substr(0, 15).c_str()); // Linux: 15 + NUL
}

std::size_t thread_count(std::size_t configured) {
    if (configured != 0) return configured;
    const unsigned hw = std::thread::hardware_concurrency();
    return hw == 0 ? 1 : hw;
}

app::app(config c)
    : cfg(std::move(c)), codecs_json(build_codecs_json(cfg)),
      compute_(thread_count(cfg.compute_threads),
               [priority = cfg.compute_priority,
                cpus = cfg.pin_compute_threads ? allowed_cpus()
                                               : std::vector<int>{}](std::size_t index) {
                   name_this_thread(fmt::format("compute-{}", index));
                   // Codecs get the CPU that I/O threads leave, which keeps /healthz and /tiny
                   // fast while reports saturate every core. Linux applies both per thread.
                   if (priority == "idle") {
                       const sched_param param{};
                       ::sched_setscheduler(0, SCHED_IDLE, &param);
                   } else if (priority == "low") {
                       ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), low_nice);
                   }
                   if (!cpus.empty()) {
                       cpu_set_t set;
                       CPU_ZERO(&set);
                       CPU_SET(cpus[index % cpus.size()], &set);
                       ::sched_setaffinity(0, sizeof set, &set); // best effort, like priority
                   }
               }),
      capacity_(compute_.size() + cfg.queue_length) {}

bool app::try_admit() {
    std::size_t n = admitted_.load(std::memory_order_relaxed);
    do {
        if (n >= capacity_) return false;
    } while (!admitted_.compare_exchange_weak(n, n + 1, std::memory_order_acq_rel));
    return true;
}

void app::release() {
    admitted_.fetch_sub(1, std::memory_order_acq_rel);
}

bool app::try_reserve_body(std::size_t nbytes) {
    std::size_t n = body_reserved_.load(std::memory_order_relaxed);
    do {
        if (nbytes > cfg.max_body_memory_nbytes - std::min(n, cfg.max_body_memory_nbytes))
            return false;
    } while (!body_reserved_.compare_exchange_weak(n, n + nbytes, std::memory_order_acq_rel));
    return true;
}

void app::release_body(std::size_t nbytes) {
    body_reserved_.fetch_sub(nbytes, std::memory_order_acq_rel);
}

} // namespace compresstest
