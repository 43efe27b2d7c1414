// The figure every benchmark reports: the median of its samples.
#pragma once

#include <algorithm>
#include <vector>

namespace tlsheap::bench {

// The median of the samples (the upper one of an even count); 0 for none.
inline double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v[v.size() / 2];
}

} // namespace tlsheap::bench
