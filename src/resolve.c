/* placeholder until the module lands */
#include "resolve.h"
