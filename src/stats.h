#ifndef HOPSOCKS_STATS_H
#define HOPSOCKS_STATS_H
#endif
