#ifndef HOPSOCKS_UTIL_H
#define HOPSOCKS_UTIL_H
#endif
