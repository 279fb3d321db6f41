// OpenBLAS's CBLAS interface and its Fortran LAPACK entry points (Debian: libopenblas-dev,
// pkg-config "openblas").
#include <cblas.h>
#include <f77blas.h>
