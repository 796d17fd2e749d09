// Configuration: defaults, precedence flags > env > file, and refusals naming the option.
#include "config/config.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

namespace compresstest {
namespace {

TEST(config, defaults_work_unconfigured) {
    auto c = parse_config({}, {});
    ASSERT_TRUE(c) << c.err().message;
    EXPECT_EQ(c->cfg.listen_port, 8080);
    EXPECT_EQ(c->cfg.listen_host, "0.0.0.0");
    EXPECT_EQ(c->cfg.max_input_nbytes, 3u * 1024 * 1024);
    EXPECT_GT(c->cfg.idle_timeout, milliseconds(60'000)); // above AWS load balancers' 60 s
}

TEST(config, flags_beat_environment_beat_file) {
    const std::string path = ::testing::TempDir() + "compresstest.conf";
    {
        std::ofstream f(path);
        f << "queue-length = 5\nmax-input-bytes = 1000\nidle-timeout-ms = 70000\n";
    }
    auto c = parse_config(
        {"--config", path, "--queue-length", "7"},
        {"COMPRESSTEST_QUEUE_LENGTH=6", "COMPRESSTEST_MAX_INPUT_BYTES=2000", "UNRELATED=1"});
    ASSERT_TRUE(c) << c.err().message;
    EXPECT_EQ(c->cfg.queue_length, 7u);                   // flag
    EXPECT_EQ(c->cfg.max_input_nbytes, 2000u);            // environment
    EXPECT_EQ(c->cfg.idle_timeout, milliseconds(70'000)); // file
    std::remove(path.c_str());
}

TEST(config, port_env_sets_the_port_unless_listen_is_a_flag) {
    auto c = parse_config({}, {"PORT=5000"});
    ASSERT_TRUE(c);
    EXPECT_EQ(c->cfg.listen_port, 5000);
    auto d = parse_config({"--listen", "127.0.0.1:0"}, {"PORT=5000"});
    ASSERT_TRUE(d);
    EXPECT_EQ(d->cfg.listen_port, 0);
    EXPECT_EQ(d->cfg.listen_host, "127.0.0.1");
}

TEST(config, invalid_values_are_refused_naming_the_option) {
    const std::pair<std::vector<std::string>, std::string> bad[] = {
        {{"--queue-length", "lots"}, "--queue-length"},
        {{"--listen", "8080"}, "--listen"},
        {{"--idle-timeout-ms", "-5"}, "--idle-timeout-ms"},
        {{"--access-log", "maybe"}, "--access-log"},
        {{"--pin-compute-threads", "sometimes"}, "--pin-compute-threads"},
        {{"--max-body-memory-bytes", "1000000"}, "--max-body-memory-bytes"}, // < the body limit
        {{"--max-input-bytes", "0"}, "--max-input-bytes"},
        {{"--no-such-option"}, "no-such-option"},
    };
    for (const auto& [args, name] : bad) {
        auto c = parse_config(args, {});
        ASSERT_FALSE(c) << args[0];
        EXPECT_NE(c.err().message.find(name), std::string::npos) << c.err().message;
    }
    auto e = parse_config({}, {"COMPRESSTEST_MAX_CONNECTIONS=none"});
    ASSERT_FALSE(e);
    EXPECT_NE(e.err().message.find("COMPRESSTEST_MAX_CONNECTIONS"), std::string::npos);
}

TEST(config, switches_take_on_off_true_false_1_0) {
    const std::pair<std::string, bool> words[] = {{"on", true},     {"off", false}, {"true", true},
                                                  {"false", false}, {"1", true},    {"0", false}};
    auto d = parse_config({}, {});
    ASSERT_TRUE(d);
    EXPECT_TRUE(d->cfg.pin_compute_threads);
    EXPECT_TRUE(d->cfg.access_log);
    for (const auto& [word, value] : words) {
        auto c = parse_config({"--pin-compute-threads", word}, {"COMPRESSTEST_ACCESS_LOG=" + word});
        ASSERT_TRUE(c) << word;
        EXPECT_EQ(c->cfg.pin_compute_threads, value) << word;
        EXPECT_EQ(c->cfg.access_log, value) << word;
    }
}

TEST(config, help_and_version_exit_with_text) {
    auto h = parse_config({"--help"}, {});
    ASSERT_TRUE(h);
    EXPECT_TRUE(h->exit_now);
    EXPECT_NE(h->exit_text.find("--max-input-bytes"), std::string::npos);
    auto v = parse_config({"--version"}, {});
    ASSERT_TRUE(v);
    EXPECT_NE(v->exit_text.find("compresstest"), std::string::npos);
}

} // namespace
} // namespace compresstest
