// The grid a sweep runs and how shards split it: pure logic, rules by hand.
#include "pipeline/sweep_grid.h"
#include "tlsheap/user_error.h"

#include <gtest/gtest.h>
#include <set>

namespace tlsheap::pipeline {
namespace {

TEST(VaryAxis, ParsesNameAndValuesInOrder) {
    const VaryAxis a = VaryAxis::parse("MBEDTLS_SSL_IN_CONTENT_LEN=16384,8192,4096");
    EXPECT_EQ(a.name, "MBEDTLS_SSL_IN_CONTENT_LEN");
    EXPECT_EQ(a.values, (std::vector<std::string>{"16384", "8192", "4096"}));
}

TEST(VaryAxis, MalformedExpressionsAreBadInput) {
    for (const char* text : {"MBEDTLS_X", "MBEDTLS_X=", "=1,2", "MBEDTLS_X=1,,2", "MBEDTLS_X=1,",
                             "1BAD=1", "MBEDTLS_X=on,on"}) {
        try {
            VaryAxis::parse(text);
            ADD_FAILURE() << text << " was accepted";
        } catch (const UserError& e) {
            EXPECT_EQ(e.exit_code(), kExitBadInput) << text;
            EXPECT_NE(std::string(e.what()).find("--vary"), std::string::npos) << e.what();
        }
    }
}

TEST(GridConfigs, EveryFileTimesEveryCombinationFirstAxisSlowest) {
    const std::vector<GridConfig> g = grid_configs(
        {"a.h", "dir/b.h"}, {"MBEDTLS_X=1"}, {"MBEDTLS_Y"},
        {VaryAxis::parse("MBEDTLS_IN=4096,default"), VaryAxis::parse("MBEDTLS_KEEP=on,off")});
    ASSERT_EQ(g.size(), 2u * 2u * 2u);
    EXPECT_EQ(g[0].id, "c0");
    EXPECT_EQ(g[7].id, "c7");
    EXPECT_EQ(g[0].config_file, "a.h");
    EXPECT_EQ(g[4].config_file, "dir/b.h");
    // c0: IN=4096, KEEP on; c1: IN=4096, KEEP off; c2: IN untouched, KEEP on.
    EXPECT_EQ(g[0].set,
              (std::vector<std::string>{"MBEDTLS_X=1", "MBEDTLS_IN=4096", "MBEDTLS_KEEP"}));
    EXPECT_EQ(g[0].unset, (std::vector<std::string>{"MBEDTLS_Y"}));
    EXPECT_EQ(g[1].set, (std::vector<std::string>{"MBEDTLS_X=1", "MBEDTLS_IN=4096"}));
    EXPECT_EQ(g[1].unset, (std::vector<std::string>{"MBEDTLS_Y", "MBEDTLS_KEEP"}));
    EXPECT_EQ(g[2].set, (std::vector<std::string>{"MBEDTLS_X=1", "MBEDTLS_KEEP"}));
    // Labels name the file, not its directory: keys match across machines.
    EXPECT_EQ(g[4].label.rfind("b.h", 0), 0u) << g[4].label;
    std::set<std::string> labels;
    for (const GridConfig& c : g)
        labels.insert(c.label);
    EXPECT_EQ(labels.size(), g.size());
}

TEST(GridConfigs, NoFileNoAxisIsTheDefaultConfigAlone) {
    const std::vector<GridConfig> g = grid_configs({}, {}, {}, {});
    ASSERT_EQ(g.size(), 1u);
    EXPECT_EQ(g[0].config_file, "");
}

TEST(Shards, ParseIOfN) {
    EXPECT_EQ(parse_shard("2/3"), (std::pair<unsigned, unsigned>{2, 3}));
    // The last ones once wrapped to 1/2, or gave a bare "stoul".
    for (const char* text : {"0/3", "4/3", "1/0", "1", "a/b", "1/2/3", "", "+1/2", " 1/2", "1/2 ",
                             "-1/2", "1/10001", "4294967297/4294967298", "1/99999999999999999999"})
        EXPECT_THROW(parse_shard(text), UserError) << text;
}

// Shards partition the grid: every cell in exactly one, sizes within one,
// and contiguous, so a shard builds few configs.
TEST(Shards, PartitionTheGridInContiguousBalancedRuns) {
    const auto configs = grid_configs({}, {}, {}, {VaryAxis::parse("MBEDTLS_A=1,2,3,4,5")});
    const auto cells = grid_cells(configs, {"s1", "s2"});
    ASSERT_EQ(cells.size(), 10u);
    for (unsigned count = 1; count <= 12; ++count) {
        std::vector<std::string> joined;
        std::size_t smallest = cells.size(), largest = 0;
        for (unsigned i = 1; i <= count; ++i) {
            const auto part = shard_cells(cells, i, count);
            smallest = std::min(smallest, part.size());
            largest = std::max(largest, part.size());
            for (const GridCell& c : part)
                joined.push_back(c.id);
        }
        ASSERT_EQ(joined.size(), cells.size()) << count;
        for (std::size_t k = 0; k < cells.size(); ++k)
            EXPECT_EQ(joined[k], cells[k].id) << count;
        EXPECT_LE(largest - smallest, 1u) << count;
    }
    // 10 cells in 5 shards: each shard is one config's two scenarios.
    const auto third = shard_cells(cells, 3, 5);
    ASSERT_EQ(third.size(), 2u);
    EXPECT_EQ(third[0].id, "c2/s1");
    EXPECT_EQ(third[1].id, "c2/s2");
}

} // namespace
} // namespace tlsheap::pipeline

namespace tlsheap::pipeline {
namespace {

TEST(GridConfigs, RefusesAmbiguousGrids) {
    // Two files of one name would be one cell key.
    EXPECT_THROW(grid_configs({"a/cfg.h", "b/cfg.h"}, {}, {}, {}), UserError);
    // A macro both fixed and varied, or varied twice.
    EXPECT_THROW(grid_configs({}, {"MBEDTLS_A=1"}, {}, {VaryAxis::parse("MBEDTLS_A=2,3")}),
                 UserError);
    EXPECT_THROW(grid_configs({}, {}, {"MBEDTLS_A"}, {VaryAxis::parse("MBEDTLS_A=on,off")}),
                 UserError);
    EXPECT_THROW(grid_configs({}, {}, {},
                              {VaryAxis::parse("MBEDTLS_A=1,2"), VaryAxis::parse("MBEDTLS_A=3")}),
                 UserError);
}

} // namespace
} // namespace tlsheap::pipeline
