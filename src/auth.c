/* placeholder until the module lands */
#include "auth.h"
