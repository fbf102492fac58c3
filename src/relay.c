/* placeholder until the module lands */
#include "relay.h"
