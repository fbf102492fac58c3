#ifndef HOPSOCKS_RELAY_H
#define HOPSOCKS_RELAY_H
#endif
