/* Which is faster between R ranks, per step, for a flat gradient of P floats:
 *   (a) one MPI_Allreduce of the gradient, then every rank updates all P
 *       parameters (what Backprop does), or
 *   (b) MPI_Reduce_scatter_block (each rank gets the sum of its P/R slice),
 *       a scalar MPI_Allreduce of the squares (the global norm), an update of
 *       the rank's slice only, then MPI_Allgather of the parameters?
 * Both sides compute the sum of squares and an Adam update, so only the
 * exchange and the share of the update differ. Run by tools/mpi-reduce-probe.
 * Usage: mpi_reduce_probe P [P…]; prints the best of 5 rounds per size. */
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

static void adam(float *p, const float *g, float *m, float *v, long n) {
  for (long i = 0; i < n; i++) {
    m[i] = 0.9f * m[i] + 0.1f * g[i];
    v[i] = 0.999f * v[i] + 0.001f * g[i] * g[i];
    p[i] -= 0.001f * m[i] / (sqrtf(v[i]) + 1e-8f);
  }
}

static double squares(const float *g, long n) {
  double sum = 0;
  for (long i = 0; i < n; i++) sum += (double)g[i] * g[i];
  return sum;
}

static void fill(float *g, long n) {
  for (long i = 0; i < n; i++) g[i] = 1e-3f * (float)(i % 7);
}

int main(int argc, char **argv) {
  int provided, rank, ranks;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_SERIALIZED, &provided);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &ranks);
  for (int a = 1; a < argc; a++) {
    long P = atol(argv[a]);
    long slice = (P + ranks - 1) / ranks, padded = slice * ranks;
    float *g = calloc(padded, 4), *p = calloc(padded, 4), *m = calloc(padded, 4), *v = calloc(padded, 4);
    float *mine = calloc(slice, 4);
    if (!g || !p || !m || !v || !mine) { fprintf(stderr, "out of memory\n"); MPI_Abort(MPI_COMM_WORLD, 1); }
    /* About 0.5 s per round and method. */
    int steps = (int)(2e7 / (double)P) + 10;
    double best[2] = {1e30, 1e30};
    for (int round = 0; round < 5; round++) {
      for (int method = 0; method < 2; method++) {
        MPI_Barrier(MPI_COMM_WORLD);
        double started = MPI_Wtime();
        for (int k = 0; k < steps; k++) {
          fill(g, P);
          if (method == 0) {
            MPI_Allreduce(MPI_IN_PLACE, g, (int)P, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
            volatile double norm = squares(g, P);
            (void)norm;
            adam(p, g, m, v, P);
          } else {
            MPI_Reduce_scatter_block(g, mine, (int)slice, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
            double norm = squares(mine, slice);
            MPI_Allreduce(MPI_IN_PLACE, &norm, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
            long first = rank * slice;
            adam(p + first, mine, m + first, v + first, slice);
            MPI_Allgather(MPI_IN_PLACE, 0, MPI_FLOAT, p, (int)slice, MPI_FLOAT, MPI_COMM_WORLD);
          }
        }
        MPI_Barrier(MPI_COMM_WORLD);
        double seconds = (MPI_Wtime() - started) / steps;
        if (seconds < best[method]) best[method] = seconds;
      }
    }
    if (rank == 0) {
      printf("P=%ld ranks=%d: allreduce + full update %.3f ms; reduce-scatter + 1/R update + allgather %.3f ms (%.2fx)\n",
             P, ranks, best[0] * 1e3, best[1] * 1e3, best[0] / best[1]);
    }
    free(g); free(p); free(m); free(v); free(mine);
  }
  MPI_Finalize();
  return 0;
}
