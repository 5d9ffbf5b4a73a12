// The compiler's version (shufflec version; tuning log records).
#pragma once

namespace shufflec {

constexpr const char *kShufflecVersion = "0.1.0";

}  // namespace shufflec
