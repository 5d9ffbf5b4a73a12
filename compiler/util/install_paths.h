// Where shufflec finds its data files (schedules/), so that an installed
// compiler is relocatable: $SHUFFLEC_SCHEDULES_DIR if set, else
// <prefix>/share/shufflec/schedules beside the running binary (<prefix>/bin),
// else the source tree it was built from.
#pragma once

#include <string>

namespace shufflec {

std::string schedules_dir();
// The folder of the running executable ("" if unknown).
std::string executable_dir();

}  // namespace shufflec
