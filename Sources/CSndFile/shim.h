#ifndef ZOO_CSNDFILE_SHIM_H
#define ZOO_CSNDFILE_SHIM_H
#include <sndfile.h>
#endif
