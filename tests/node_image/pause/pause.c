/* STAND-IN for the pause image's /pause in kinc's node test image (tests/node_image): no registry reaches
 * these machines, so the image CRI-O runs as every pod's infra container is built here under the name CRI-O
 * expects. It does what a pod's infra container must: hold the pod's namespaces, reap orphans as PID 1,
 * and exit at once on SIGINT or SIGTERM. */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static void stop(int signo) { _exit(signo == SIGTERM ? 0 : 2); }

static void reap(int signo) {
  (void)signo;
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
}

int main(void) {
  struct sigaction on_stop = {.sa_handler = stop}, on_child = {.sa_handler = reap, .sa_flags = SA_NOCLDSTOP};
  sigaction(SIGINT, &on_stop, NULL);
  sigaction(SIGTERM, &on_stop, NULL);
  sigaction(SIGCHLD, &on_child, NULL);
  for (;;) pause();
}
