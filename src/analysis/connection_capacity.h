// `tlsheap capacity`: the most concurrent connections that fit in a heap of
// fixed size, per allocator model, found by replaying streams with 1, 2, 3,
// ... connections on that heap (a model fails at its first failed
// allocation) rather than by dividing the heap by a per-connection cost.
// The streams are either recordings made with --connections k (the
// pipeline records them) or one recording of N concurrent connections
// restricted to its first k (ConnectionSubsetSource).
#pragma once

#include "tlsheap/min_pool.h"
#include "tlsheap/replay_engine.h"

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace tlsheap::analysis {

// Where a model's first allocation failed, in the report's words.
struct CapacityFailure {
    std::uint64_t seq = 0;
    std::uint64_t size = 0;
    std::uint32_t connection = 0; // whose code asked
    std::string phase;
    std::string state;
    std::string call_site;
    std::uint64_t failure_count = 0; // allocations that failed in that replay
};

struct ModelCapacity {
    std::string name;
    std::string description;
    // The most connections that fit: every k <= capacity ran without a
    // failed allocation. 0 when even one connection does not fit.
    std::uint32_t capacity = 0;
    // The footprint of the replay with `capacity` connections (none for 0).
    std::optional<std::uint64_t> footprint;
    // The replay with capacity + 1 connections: its first failed allocation.
    // None when every stream tried fit (the answer is "at least").
    std::optional<CapacityFailure> fails_next;
};

// One stream replayed on the heap.
struct CapacityStep {
    std::uint32_t connections = 0;
    std::uint64_t live_peak = 0;
    std::vector<std::uint64_t> footprint; // per model
    std::vector<std::uint64_t> failures;  // per model: failed allocations
};

struct CapacityResult {
    std::uint64_t heap = 0;
    std::vector<ModelCapacity> models;
    std::vector<CapacityStep> steps;
    // Connections of the largest stream replayed.
    std::uint32_t most_tried = 0;
    bool every_model_failed() const;
};

// Feeds replays with k = 1, 2, 3, ... connections, in order.
class CapacitySearch {
  public:
    explicit CapacitySearch(std::uint64_t heap) { result_.heap = heap; }
    // `replay` is the stream with `connections` connections replayed with
    // ReplayOptions::pool_size = heap.
    void add(std::uint32_t connections, const replay::ReplayResult& replay);
    bool done() const { return !result_.models.empty() && result_.every_model_failed(); }
    const CapacityResult& result() const { return result_; }

  private:
    CapacityResult result_;
};

// The replay options every capacity replay uses: the models, the heap as the
// pool, no time series.
replay::ReplayOptions capacity_replay_options(const std::vector<replay::ModelSpec>& models,
                                              std::uint64_t heap);

// Thrown for a trace that cannot answer: one connection, or connections
// that never held memory together (reconnects). One line.
class CapacityInputError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// From one recording of N concurrent connections: its first k connections,
// k = 1..N, until every model failed. Throws CapacityInputError,
// trace::TraceError, ModelError.
CapacityResult capacity_of_trace(const replay::SourceFactory& open,
                                 const std::vector<replay::ModelSpec>& models, std::uint64_t heap);

} // namespace tlsheap::analysis
