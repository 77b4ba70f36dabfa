#ifndef BREAKERD_CSQLITE_SHIM_H
#define BREAKERD_CSQLITE_SHIM_H
#include <sqlite3.h>
#endif
