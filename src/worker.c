/* placeholder until the module lands */
#include "worker.h"
