// The grid a sweep runs: configs (files and/or deltas, times every --vary
// value) × scenarios, with the models replayed in every cell. Cells have
// stable ids so that shards of the same grid split it the same way on every
// machine.
#pragma once

#include <string>
#include <vector>

namespace tlsheap::pipeline {

// One --vary axis: NAME=v1,v2,... where a value is "on" (--set NAME),
// "off" (--unset NAME), "default" (leave the config alone) or anything else
// (--set NAME=value).
struct VaryAxis {
    std::string name;
    std::vector<std::string> values;

    // Throws UserError (exit 2) on a malformed expression.
    static VaryAxis parse(const std::string& text);
};

struct GridConfig {
    std::string id;          // "c0", "c1", ...
    std::string config_file; // "" : the tree's default
    std::vector<std::string> set;
    std::vector<std::string> unset;
    std::string label; // "my_config.h --set A=1 --unset B"
};

struct GridCell {
    std::string id; // "c1/tls12-ecdhe-ecdsa-p256"
    std::size_t config = 0;
    std::string scenario;
};

// Every config of the grid: each base config file (or the default) crossed
// with every combination of the axes, plus the deltas common to all.
std::vector<GridConfig> grid_configs(const std::vector<std::string>& config_files,
                                     const std::vector<std::string>& set,
                                     const std::vector<std::string>& unset,
                                     const std::vector<VaryAxis>& axes);

std::vector<GridCell> grid_cells(const std::vector<GridConfig>& configs,
                                 const std::vector<std::string>& scenarios);

// --shard I/N: far more slices than any CI has machines.
inline constexpr unsigned kMostShards = 10000;

// "I/N" → (I, N), 1 <= I <= N <= kMostShards. Throws UserError on a malformed
// spec or a number out of range.
std::pair<unsigned, unsigned> parse_shard(const std::string& text);

// The cells of shard `index` of `count`: the index-th of count contiguous,
// balanced runs of the grid order (sizes differ by at most one cell).
std::vector<GridCell> shard_cells(const std::vector<GridCell>& cells, unsigned index,
                                  unsigned count);

} // namespace tlsheap::pipeline
