#ifndef HOPSOCKS_LOOP_H
#define HOPSOCKS_LOOP_H
#endif
