/* placeholder until the module lands */
#include "target.h"
