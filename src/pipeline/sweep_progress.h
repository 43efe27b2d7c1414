// Progress of a sweep: on a terminal, one line redrawn in place ("[####....]
// 5/12 cells, 2/3 builds, 00:42 left"); otherwise one plain line per finished
// step, so CI logs stay readable. (No C++ progress-bar library is packaged
// in Debian; this is the few lines the job needs.)
#pragma once

#include <chrono>
#include <mutex>
#include <string>

namespace tlsheap::pipeline {

class SweepProgress {
  public:
    SweepProgress(std::size_t cells, std::size_t builds, unsigned workers, bool quiet);
    ~SweepProgress();

    void build_done(const std::string& what);
    void cell_done(const std::string& what);
    // A message that is not progress (a warning): printed on its own line.
    void note(const std::string& message);

  private:
    void draw_locked();
    std::string time_left_locked() const;

    std::mutex mutex_;
    std::size_t cells_;
    std::size_t builds_;
    std::size_t cells_done_ = 0;
    std::size_t builds_done_ = 0;
    bool quiet_;
    bool terminal_;
    bool drawn_ = false;
    std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
    std::chrono::steady_clock::time_point cells_start_{};
};

} // namespace tlsheap::pipeline
