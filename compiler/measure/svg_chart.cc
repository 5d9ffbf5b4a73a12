#include "measure/svg_chart.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace shufflec {

namespace {

std::string escape(const std::string &s) {
    std::string out;
    for (char ch : s) {
        if (ch == '<') out += "&lt;";
        else if (ch == '>') out += "&gt;";
        else if (ch == '&') out += "&amp;";
        else if (ch == '"') out += "&quot;";
        else if (static_cast<unsigned char>(ch) >= 0x20) out += ch;
    }
    return out;
}

std::string number(double v) {
    char buf[32];
    if (std::fabs(v) >= 100) std::snprintf(buf, sizeof buf, "%.0f", v);
    else if (std::fabs(v) >= 10) std::snprintf(buf, sizeof buf, "%.1f", v);
    else std::snprintf(buf, sizeof buf, "%.3g", v);
    return buf;
}

// A "nice" upper bound for an axis (1, 2 or 5 times a power of ten).
double nice_max(double v) {
    if (!(v > 0)) return 1;
    double p = std::pow(10.0, std::floor(std::log10(v)));
    for (double m : {1.0, 2.0, 5.0, 10.0})
        if (m * p >= v) return m * p;
    return 10 * p;
}

const char *kColours[] = {"#4477aa", "#ee6677", "#228833", "#ccbb44", "#66ccee", "#aa3377"};

}  // namespace

std::string svg_bar_chart(const std::string &title, const std::vector<std::string> &labels,
                          const std::vector<BarPanel> &panels) {
    const int label_w = 170, panel_w = 300, bar_h = 14, gap = 3, top = 56, value_w = 60, axis_h = 44;
    int width = label_w + static_cast<int>(panels.size()) * (panel_w + value_w + 20) + 10;
    int rows_h = static_cast<int>(labels.size()) * (bar_h + gap);
    int height = top + rows_h + axis_h;
    std::ostringstream o;
    o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
      << "\" font-family=\"sans-serif\" font-size=\"11\">\n"
      << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      << "<text x=\"10\" y=\"20\" font-size=\"14\" font-weight=\"bold\">" << escape(title) << "</text>\n";
    auto sub_row = [&](size_t i) { return labels[i].rfind("  ", 0) == 0; };
    for (size_t i = 0; i < labels.size(); i++) {
        bool sub = sub_row(i);
        o << "<text x=\"" << label_w - 6 << "\" y=\"" << top + static_cast<int>(i) * (bar_h + gap) + bar_h - 3
          << "\" text-anchor=\"end\"" << (sub ? " fill=\"#666\" font-size=\"10\"" : " font-weight=\"bold\"") << ">"
          << escape(sub ? labels[i].substr(2) : labels[i]) << "</text>\n";
    }
    for (size_t p = 0; p < panels.size(); p++) {
        const BarPanel &panel = panels[p];
        int x0 = label_w + static_cast<int>(p) * (panel_w + value_w + 20);
        double largest = panel.values.empty() ? 0 : *std::max_element(panel.values.begin(), panel.values.end());
        double max = nice_max(std::max(largest, panel.marker));
        auto x_of = [&](double v) { return x0 + std::max(0.0, v) / max * panel_w; };
        o << "<text x=\"" << x0 << "\" y=\"" << top - 14 << "\" font-weight=\"bold\">" << escape(panel.title) << "</text>\n";
        // The value axis: grid lines and ticks at fifths of the axis, labelled below.
        for (int k = 0; k <= 5; k++) {
            double v = max * k / 5, x = x_of(v);
            o << "<line x1=\"" << x << "\" y1=\"" << top - 4 << "\" x2=\"" << x << "\" y2=\"" << top + rows_h
              << "\" stroke=\"" << (k == 0 ? "#444" : "#ddd") << "\"/>\n"
              << "<line x1=\"" << x << "\" y1=\"" << top + rows_h << "\" x2=\"" << x << "\" y2=\"" << top + rows_h + 4
              << "\" stroke=\"#444\"/>\n"
              << "<text x=\"" << x << "\" y=\"" << top + rows_h + 16 << "\" text-anchor=\"middle\">" << number(v)
              << "</text>\n";
        }
        o << "<line x1=\"" << x0 << "\" y1=\"" << top + rows_h << "\" x2=\"" << x0 + panel_w << "\" y2=\"" << top + rows_h
          << "\" stroke=\"#444\"/>\n";
        for (size_t i = 0; i < panel.values.size() && i < labels.size(); i++) {
            double v = panel.values[i];
            int w = static_cast<int>(std::max(0.0, v) / max * panel_w + 0.5);
            int y = top + static_cast<int>(i) * (bar_h + gap);
            o << "<rect x=\"" << x0 << "\" y=\"" << y << "\" width=\"" << w << "\" height=\"" << bar_h << "\" fill=\""
              << kColours[p % 6] << "\"" << (sub_row(i) ? " fill-opacity=\"0.55\"" : "") << "><title>"
              << escape(labels[i]) << ": " << number(v) << "</title></rect>\n"
              << "<text x=\"" << x0 + w + 4 << "\" y=\"" << y + bar_h - 3 << "\" font-size=\"10\">" << number(v)
              << "</text>\n";
        }
        if (panel.marker > 0) {
            double x = x_of(panel.marker);
            o << "<line x1=\"" << x << "\" y1=\"" << top - 6 << "\" x2=\"" << x << "\" y2=\"" << top + rows_h
              << "\" stroke=\"#c00\" stroke-width=\"1.5\" stroke-dasharray=\"5,3\"/>\n"
              << "<text x=\"" << x << "\" y=\"" << top + rows_h + 30 << "\" text-anchor=\"middle\" fill=\"#c00\" font-size=\"10\">"
              << escape(panel.marker_label) << "</text>\n";
        }
    }
    o << "</svg>\n";
    return o.str();
}

std::string svg_line_chart(const std::string &title, const std::string &x_label, const std::string &y_label,
                           const std::vector<LineSeries> &series) {
    const int left = 70, right = 170, top = 40, bottom = 50, w = 560, h = 320;
    double xmax = 0, ymax = 0, ymin = INFINITY;
    for (const auto &s : series) {
        for (double x : s.x) xmax = std::max(xmax, x);
        for (double y : s.y) ymax = std::max(ymax, y), ymin = std::min(ymin, y);
    }
    if (!(ymin < INFINITY)) ymin = 0;
    double y0 = std::max(0.0, ymin - (ymax - ymin) * 0.1), y1 = ymax + (ymax - ymin) * 0.05 + 1e-9;
    xmax = nice_max(xmax);
    auto px = [&](double x) { return left + x / xmax * w; };
    auto py = [&](double y) { return top + h - (y - y0) / (y1 - y0) * h; };
    std::ostringstream o;
    o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << left + w + right << "\" height=\"" << top + h + bottom
      << "\" font-family=\"sans-serif\" font-size=\"11\">\n"
      << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      << "<text x=\"10\" y=\"20\" font-size=\"14\" font-weight=\"bold\">" << escape(title) << "</text>\n"
      << "<rect x=\"" << left << "\" y=\"" << top << "\" width=\"" << w << "\" height=\"" << h
      << "\" fill=\"none\" stroke=\"#888\"/>\n";
    for (int k = 0; k <= 4; k++) {
        double yv = y0 + (y1 - y0) * k / 4, xv = xmax * k / 4;
        o << "<text x=\"" << left - 6 << "\" y=\"" << py(yv) + 4 << "\" text-anchor=\"end\">" << number(yv) << "</text>\n"
          << "<text x=\"" << px(xv) << "\" y=\"" << top + h + 16 << "\" text-anchor=\"middle\">" << number(xv)
          << "</text>\n";
    }
    o << "<text x=\"" << left + w / 2 << "\" y=\"" << top + h + 38 << "\" text-anchor=\"middle\">" << escape(x_label)
      << "</text>\n<text x=\"14\" y=\"" << top + h / 2 << "\" transform=\"rotate(-90 14 " << top + h / 2
      << ")\" text-anchor=\"middle\">" << escape(y_label) << "</text>\n";
    for (size_t s = 0; s < series.size(); s++) {
        o << "<polyline fill=\"none\" stroke-width=\"2\" stroke=\"" << kColours[s % 6] << "\" points=\"";
        for (size_t i = 0; i < series[s].x.size() && i < series[s].y.size(); i++)
            o << px(series[s].x[i]) << "," << py(series[s].y[i]) << " ";
        o << "\"/>\n<text x=\"" << left + w + 10 << "\" y=\"" << top + 14 + 16 * static_cast<int>(s) << "\" fill=\""
          << kColours[s % 6] << "\">" << escape(series[s].name) << "</text>\n";
    }
    o << "</svg>\n";
    return o.str();
}

}  // namespace shufflec
