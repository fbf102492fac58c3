/* placeholder until the module lands */
#include "session.h"
