/* placeholder until the module lands */
#include "socks4.h"
