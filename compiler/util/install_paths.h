// Where shufflec finds its data files (schedules/), so that an installed
// compiler is relocatable: $SHUFFLEC_SCHEDULES_DIR if set, else
// <prefix>/share/shufflec/schedules beside the running binary (<prefix>/bin),
// else the source tree it was built from.
#pragma once

#include <string>

namespace shufflec {

std::string schedules_dir();
// The user's own tuned schedules (what `shufflec tune` writes by default, read by
// compile after the project's): $SHUFFLEC_USER_SCHEDULES_DIR if set, else
// $XDG_DATA_HOME/shufflec/schedules, else ~/.local/share/shufflec/schedules
// ("" when none of these can be found).
std::string user_schedules_dir();
// The folder of the running executable ("" if unknown).
std::string executable_dir();

}  // namespace shufflec
