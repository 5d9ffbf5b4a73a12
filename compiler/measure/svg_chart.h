// Small self-contained SVG charts for `shufflec profile --plot` and
// `shufflec tune --report --plot` (no plotting library needed).
#pragma once

#include <string>
#include <vector>

namespace shufflec {

// Horizontal bars, one panel per series (e.g. ms per unit, GMAC/s per unit),
// each with a value axis (ticks and grid lines) and optionally a marker line
// (e.g. the FMA peak). Labels starting with two spaces are sub-rows (layers of
// the unit above), drawn lighter.
struct BarPanel {
    std::string title;  // "time (ms)"
    std::vector<double> values;
    double marker = 0;         // > 0: a dashed line at this value
    std::string marker_label;  // "FMA peak 47.6"
};
std::string svg_bar_chart(const std::string &title, const std::vector<std::string> &labels,
                          const std::vector<BarPanel> &panels);

// Lines over x (e.g. best-so-far latency over trials): one colour per series.
struct LineSeries {
    std::string name;
    std::vector<double> x, y;
};
std::string svg_line_chart(const std::string &title, const std::string &x_label, const std::string &y_label,
                           const std::vector<LineSeries> &series);

}  // namespace shufflec
