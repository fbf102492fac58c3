/* placeholder until the module lands */
#include "loop.h"
