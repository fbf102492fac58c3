/* placeholder until the module lands */
#include "util.h"
