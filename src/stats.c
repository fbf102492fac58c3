/* placeholder until the module lands */
#include "stats.h"
