/* `sluice ingress …` and `sluice egress …`: the API's client for people and scripts.
 *
 * These subcommands call a running node's Twirp API (core/api.c, or any LiveKit-compatible
 * server): livekit.Ingress for `ingress create|list|update|delete`, livekit.Egress for
 * `egress start|list|stop`. Each call carries a fresh HS256 token (core/jwt.h) that lives ten
 * minutes and holds only the grant that call needs (`ingressAdmin` or `roomRecord`), so a token
 * that leaks from a process listing or a proxy log is worth little.
 *
 * Where the API is and which credentials to use, each resolved on its own, first found wins:
 * --url / --api-key / --api-secret; LIVEKIT_URL / LIVEKIT_API_KEY / LIVEKIT_API_SECRET (as
 * LiveKit's own CLI reads them; ws:// and wss:// URLs become http:// and https://); the local
 * config as `sluice` itself finds it (--config FILE or the usual sources): api_key, api_secret
 * and http://127.0.0.1:<api_port>.
 *
 * Output is text for people (tables for lists, enum names, local ISO times, seconds, MB; stream
 * keys in full only from `ingress create`, redacted everywhere else) or, with --json, the
 * canonical protobuf JSON the API returned. `egress start|stop --follow` polls ListEgress once a
 * second and shows the egress's state until it ends.
 *
 * Exit statuses are part of the interface (SlCliExit): scripts rely on them.
 *
 * Ownership: argv is borrowed. Threading: the main thread of a one-shot process; every HTTP call
 * blocks (libsoup's synchronous API), so no main loop is needed or run.
 */
#ifndef SL_CLI_H
#define SL_CLI_H

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  SL_CLI_EXIT_OK = 0,          /* done; for --follow, the egress ended EGRESS_COMPLETE */
  SL_CLI_EXIT_REFUSED = 1,     /* the server refused the request, or the egress did not complete */
  SL_CLI_EXIT_USAGE = 2,       /* the command line is wrong; usage is printed */
  SL_CLI_EXIT_UNREACHABLE = 3, /* no API, wrong address, or credentials missing or refused */
} SlCliExit;

/* TRUE when the first word of argv that is not an option (or an option's value) is `ingress` or
 * `egress`: main() hands such command lines to sl_cli_main() before its own parsing. */
gboolean sl_cli_handles(int argc, char **argv);

/* Runs the command line and returns its exit status (SlCliExit). Results go to stdout, errors
 * and usage problems to stderr. */
int sl_cli_main(int argc, char **argv);

G_END_DECLS

#endif /* SL_CLI_H */
