#include "pipeline/sweep_progress.h"

#include <cstdio>
#include <fmt/format.h>
#include <unistd.h>

namespace tlsheap::pipeline {

SweepProgress::SweepProgress(std::size_t cells, std::size_t builds, unsigned /*workers*/,
                             bool quiet)
    : cells_(cells), builds_(builds), quiet_(quiet), terminal_(::isatty(STDERR_FILENO) == 1) {
    std::lock_guard<std::mutex> lock(mutex_);
    draw_locked();
}

SweepProgress::~SweepProgress() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (terminal_ && drawn_ && !quiet_) {
        std::fputs("\n", stderr);
    }
}

std::string SweepProgress::time_left_locked() const {
    using namespace std::chrono;
    if (cells_done_ == 0 || cells_done_ >= cells_) {
        return cells_done_ >= cells_ ? "done" : "--:-- left";
    }
    // Cells take similar time: the average so far, spread over the workers.
    const double per_cell = duration<double>(steady_clock::now() - cells_start_).count() /
                            static_cast<double>(cells_done_);
    const double left = per_cell * static_cast<double>(cells_ - cells_done_);
    const auto seconds = static_cast<long>(left);
    return fmt::format("{:02}:{:02} left", seconds / 60, seconds % 60);
}

void SweepProgress::draw_locked() {
    if (quiet_ || !terminal_) {
        return;
    }
    constexpr std::size_t width = 24;
    const std::size_t filled = cells_ == 0 ? width : width * cells_done_ / cells_;
    const std::string bar = std::string(filled, '#') + std::string(width - filled, '.');
    std::fprintf(stderr, "\r[%s] %zu/%zu cells, %zu/%zu builds, %s   ", bar.c_str(), cells_done_,
                 cells_, builds_done_, builds_, time_left_locked().c_str());
    std::fflush(stderr);
    drawn_ = true;
}

void SweepProgress::build_done(const std::string& what) {
    std::lock_guard<std::mutex> lock(mutex_);
    ++builds_done_;
    if (builds_done_ == builds_) {
        cells_start_ = std::chrono::steady_clock::now();
    }
    if (!terminal_ && !quiet_) {
        std::fprintf(stderr, "tlsheap: build %zu/%zu: %s\n", builds_done_, builds_, what.c_str());
    }
    draw_locked();
}

void SweepProgress::cell_done(const std::string& what) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (cells_done_ == 0 && cells_start_ == std::chrono::steady_clock::time_point{}) {
        cells_start_ = std::chrono::steady_clock::now();
    }
    ++cells_done_;
    if (!terminal_ && !quiet_) {
        std::fprintf(stderr, "tlsheap: cell %zu/%zu: %s\n", cells_done_, cells_, what.c_str());
    }
    draw_locked();
}

void SweepProgress::note(const std::string& message) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (quiet_) {
        return;
    }
    if (terminal_ && drawn_) {
        std::fputs("\r\033[K", stderr);
    }
    std::fprintf(stderr, "tlsheap: %s\n", message.c_str());
    draw_locked();
}

} // namespace tlsheap::pipeline
