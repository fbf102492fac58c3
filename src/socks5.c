/* placeholder until the module lands */
#include "socks5.h"
